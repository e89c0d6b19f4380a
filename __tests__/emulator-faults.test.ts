// The emulator's fault injector on its own, behind a bare node:http server.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { FaultInjector } from '../emulator/faults.ts'
import { Timers } from '../emulator/timers.ts'

const timers = new Timers()
const injector = new FaultInjector(timers)
let realAnswers = 0
let server: Server
let url = ''

beforeAll(async () => {
  server = createServer((req, res) => {
    const fault = injector.take()
    if (!fault) {
      res.writeHead(204).end()
      return
    }
    void injector.apply(fault, req, res, () => {
      realAnswers++
      return { status: 204 }
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
})
afterAll(async () => {
  timers.clear()
  server.closeAllConnections()
  await new Promise(resolve => server.close(resolve))
})
beforeEach(() => {
  realAnswers = 0
})

test('faults are taken one per request, in order; set replaces the queue', async () => {
  injector.set([
    { kind: 'status', status: 503 },
    { kind: 'html', status: 502 }
  ])
  injector.set([
    { kind: 'status', status: 500, headers: { 'Retry-After': '3' } },
    { kind: 'html', status: 502 }
  ])
  const first = await fetch(url)
  expect([first.status, first.headers.get('retry-after'), await first.json()]).toEqual([
    500,
    '3',
    { errors: ['Internal Server Error'] }
  ])
  const second = await fetch(url)
  expect(second.status).toBe(502)
  expect(await second.text()).toContain('<center>nginx</center>')
  expect((await fetch(url)).status).toBe(204)
  expect(realAnswers).toBe(0)
})

test('abort-then-status does the real work, then answers with the fault', async () => {
  injector.set([{ kind: 'abort-then-status', status: 503, body: 'later' }])
  const res = await fetch(url)
  expect([res.status, await res.text(), realAnswers]).toEqual([503, 'later', 1])
})

test('huge-body of a given size is exactly that many bytes of JSON', async () => {
  injector.set([{ kind: 'huge-body', status: 500, bytes: 200_000 }])
  const text = await (await fetch(url)).text()
  expect(text).toHaveLength(200_000)
  expect((JSON.parse(text) as { errors: string[] }).errors[0]).toMatch(/^x+$/)
})

test('redirect answers with the Location and no body', async () => {
  injector.set([{ kind: 'redirect', location: 'https://elsewhere.example/' }])
  const res = await fetch(url, { redirect: 'manual' })
  expect([res.status, res.headers.get('location'), await res.text()]).toEqual([302, 'https://elsewhere.example/', ''])
})
