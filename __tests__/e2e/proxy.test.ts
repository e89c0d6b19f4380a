// Proxies that stall, refuse, close, talk nonsense or are not there, through
// the real bundle: each is reported as the proxy's doing, naming it, within
// the step's timeout, and its credentials are never printed.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { annotations, leakedSecrets, runAction } from '../support/runner.ts'

const API_KEY = '0123456789abcdef0123456789abcdef'
const APP_KEY = 'fedcba9876543210fedcba9876543210fedcba98'
const PROXY_PASSWORD = 's3cr3t-proxy-pass'

/** A proxy that meets every CONNECT with `behaviour`; counts the CONNECTs it saw. */
async function proxyThat(behaviour: (client: Socket) => void) {
  const sockets = new Set<Socket>()
  let connects = 0
  const server: Server = createServer(client => {
    sockets.add(client)
    client.on('error', () => undefined)
    client.once('data', head => {
      if (head.toString('latin1').startsWith('CONNECT ')) connects++
      behaviour(client)
    })
  })
  await new Promise<void>(done => server.listen(0, '127.0.0.1', done))
  return {
    port: (server.address() as AddressInfo).port,
    connects: () => connects,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise(done => server.close(done))
    }
  }
}

async function runThrough(proxyUrl: string, extra: Record<string, string> = {}) {
  const result = await runAction({
    inputs: {
      'api-key': API_KEY,
      'app-key': APP_KEY,
      // Not a loopback name, so the proxy is used; were it not, the
      // connection would stay on this machine (0.0.0.0 is the local host).
      'api-url': 'https://0.0.0.0:9',
      'test-id': 'abc-def-123',
      key: 'org-1/api-upload-file/abc-def-123/f.json',
      'upload-id': 'up-1',
      'max-retries': '2',
      ...extra
    },
    env: { https_proxy: proxyUrl },
    killAfterMs: 20_000
  })
  expect(result.killed).toBe(false)
  expect(leakedSecrets(result, [API_KEY, APP_KEY])).toEqual([])
  expect(result.stdout + result.stderr).not.toContain(PROXY_PASSWORD)
  expect(result.code).toBe(1)
  return { result, failure: annotations(result, 'error').at(-1) ?? '' }
}

const answer = (text: string) => (client: Socket) => void client.end(text)

test('a proxy that accepts the connection and never answers CONNECT: the timeout covers the tunnel', async () => {
  const proxy = await proxyThat(() => undefined)
  try {
    const { result, failure } = await runThrough(`http://127.0.0.1:${proxy.port}`, { timeout: '2' })
    // The step may run about a second past its timeout, and Node needs its own start-up.
    expect(result.runMs).toBeLessThan(4500)
    expect(failure).toMatch(new RegExp(`the proxy 127\\.0\\.0\\.1:${proxy.port} did not`))
  } finally {
    await proxy.close()
  }
})

test.each([
  [407, 'Proxy Authentication Required', 1],
  [403, 'Forbidden', 1],
  [502, 'Bad Gateway', 3]
])('a proxy that refuses the tunnel with %i is reported as that, attempts: %i', async (status, text, attempts) => {
  const proxy = await proxyThat(answer(`HTTP/1.1 ${status} ${text}\r\nContent-Length: 0\r\n\r\n`))
  try {
    const url = `http://user:${PROXY_PASSWORD}@127.0.0.1:${proxy.port}`
    const { result, failure } = await runThrough(url, { 'max-retries': '2' })
    expect(failure).toContain(`the proxy 127.0.0.1:${proxy.port} refused the tunnel: ${status} ${text}`)
    expect(result.outputs['attempts']).toBe(String(attempts))
    expect(proxy.connects()).toBe(attempts)
  } finally {
    await proxy.close()
  }
})

test.each([
  ['closes the connection', (client: Socket) => void client.destroy(), /closed the connection instead of opening/],
  ['answers garbage', answer('SSH-2.0-OpenSSH_9.6\r\n\r\n'), /answered CONNECT with something that is not HTTP/]
])('a proxy that %s is reported as the proxy', async (_, behaviour, expected) => {
  const proxy = await proxyThat(behaviour)
  try {
    const { failure } = await runThrough(`http://127.0.0.1:${proxy.port}`, { 'max-retries': '0' })
    expect(failure).toMatch(expected)
    expect(failure).toContain(`127.0.0.1:${proxy.port}`)
    expect(failure).not.toMatch(/connection reset \(ECONNRESET\)/)
  } finally {
    await proxy.close()
  }
})

test('a proxy that cannot be reached is named', async () => {
  const proxy = await proxyThat(() => undefined)
  await proxy.close()
  const { failure } = await runThrough(`http://127.0.0.1:${proxy.port}`, { 'max-retries': '0' })
  expect(failure).toContain(`the proxy 127.0.0.1:${proxy.port} refused the connection (ECONNREFUSED)`)
})

test.each(['http://[::1', 'http://', 'socks5://127.0.0.1:1080', 'http://127.0.0.1:3128/path?x'])(
  'a malformed https_proxy %j is an error, never a direct connection',
  async value => {
    const { result, failure } = await runThrough(value)
    expect(failure).toMatch(/the https_proxy environment variable is not a proxy URL/)
    expect(result.outputs['attempts']).toBe('1')
  }
)
