import { Agent, createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, expect, test } from '@jest/globals'
import { HttpClient } from '@actions/http-client'
import { sendWith, type Sent } from '../src/http.js'

let server: Server
let url: string
let handler: Parameters<typeof createServer>[1] = (_req, res) => res.end()

beforeAll(async () => {
  server = createServer((req, res) => handler?.(req, res))
  await new Promise<void>(done => server.listen(0, '127.0.0.1', done))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterEach(() => {
  server.closeAllConnections()
})
afterAll(async () => {
  await new Promise(done => server.close(done))
})

const request = (path = '/') => ({ method: 'POST' as const, url: url + path, headers: { 'X-Test': '1' }, body: '{}' })
// A fresh connection each time: the server drops its connections between tests.
const send = (signal = new AbortController().signal, maxBodyBytes = 1024): Promise<Sent> =>
  sendWith(new Agent({ keepAlive: false }), request(), { signal, idleTimeoutMs: 2000, maxBodyBytes })

test('a redirect is returned as an answer, never followed', async () => {
  let hits = 0
  handler = (req, res) => {
    hits++
    res.writeHead(307, { Location: `${url}/elsewhere` }).end()
  }
  const outcome = await send()
  expect(outcome).toMatchObject({ kind: 'reply', status: 307, headers: { location: `${url}/elsewhere` } })
  expect(hits).toBe(1)
})

test('a body past the cap is cut there and marked truncated', async () => {
  handler = (_req, res) => {
    res.writeHead(500)
    res.end('y'.repeat(5000))
  }
  const outcome = await send(undefined, 100)
  expect(outcome).toMatchObject({ kind: 'reply', status: 500, truncated: true })
  expect(outcome.kind === 'reply' && outcome.body).toBe('y'.repeat(100))
})

test('the signal stops a stalled request and its reason says why', async () => {
  handler = () => undefined
  for (const [reason, kind, code] of [
    ['cancelled', 'cancelled', 'cancelled'],
    ['deadline', 'timeout', 'deadline'],
    ['attempt-timeout', 'timeout', 'attempt-timeout']
  ] as const) {
    const controller = new AbortController()
    setTimeout(() => controller.abort(reason), 20)
    expect(await send(controller.signal)).toMatchObject({ kind, code, requestSent: true })
  }
})

test('a refused connection is a network failure with a readable message', async () => {
  const closed = createServer()
  await new Promise<void>(done => closed.listen(0, '127.0.0.1', done))
  const port = (closed.address() as AddressInfo).port
  await new Promise(done => closed.close(done))
  const outcome = await sendWith(
    undefined,
    { ...request(), url: `http://127.0.0.1:${port}/` },
    { signal: new AbortController().signal, idleTimeoutMs: 1000, maxBodyBytes: 10 }
  )
  expect(outcome).toMatchObject({ kind: 'network', code: 'ECONNREFUSED', message: 'connection refused (ECONNREFUSED)' })
})

test.each([
  [{ https_proxy: 'http://127.0.0.1:3128' }, true],
  [{ HTTPS_PROXY: 'http://127.0.0.1:3128' }, true],
  [{ https_proxy: 'http://127.0.0.1:3128', no_proxy: 'datadoghq.com' }, false],
  [{ https_proxy: 'http://127.0.0.1:3128', NO_PROXY: 'api.datadoghq.com' }, false],
  [{}, false]
])(
  '@actions/http-client, which picks the transport agent, reads the runner proxy settings %j as tunnel: %s',
  (env, tunnelled) => {
    const saved = { ...process.env }
    for (const name of ['https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY']) Reflect.deleteProperty(process.env, name)
    Object.assign(process.env, env)
    try {
      // The transport asks @actions/http-client for the agent of each destination; nothing is sent.
      const agent = new HttpClient('test').getAgent('https://api.datadoghq.com')
      const isTunnel = 'proxyOptions' in (agent as object)
      expect(isTunnel).toBe(tunnelled)
    } finally {
      process.env = saved
    }
  }
)

test('a signal that fired before the request starts: no request, the reason as the failure', async () => {
  let hits = 0
  handler = (_req, res) => {
    hits++
    res.end()
  }
  const controller = new AbortController()
  controller.abort('cancelled')
  expect(await send(controller.signal)).toEqual({
    kind: 'cancelled',
    code: 'cancelled',
    message: 'the step was cancelled',
    requestSent: false
  })
  expect(hits).toBe(0)
})
