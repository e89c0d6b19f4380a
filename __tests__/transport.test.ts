import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net'
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib'
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals'
import { NOT_TLS } from '../src/transport/failures.js'
import { routeTo } from '../src/transport/proxy.js'
import { createTransport } from '../src/transport/send.js'
import type { Sent } from '../src/transport/sent.js'
import { withRawServer, writeLater } from './support/raw-server.ts'

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
async function sendTo(target: string, signal = new AbortController().signal, maxBodyBytes = 1024): Promise<Sent> {
  const transport = createTransport({})
  try {
    return await transport.send({ ...request(), url: target }, { signal, idleTimeoutMs: 2000, maxBodyBytes })
  } finally {
    transport.close()
  }
}
const send = (signal?: AbortSignal, maxBodyBytes?: number): Promise<Sent> => sendTo(url + '/', signal, maxBodyBytes)

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

test('of a body past the cap, only its first 16 KiB become text', async () => {
  handler = (_req, res) => {
    res.writeHead(500)
    // Sent in pieces, so the body arrives as several chunks; 'é' is two bytes.
    for (let i = 0; i < 64; i++) res.write('é'.repeat(1024))
    res.end()
  }
  const outcome = await send(undefined, 64 * 1024)
  expect(outcome).toMatchObject({ kind: 'reply', status: 500, truncated: true })
  const body = outcome.kind === 'reply' ? outcome.body : ''
  expect(Buffer.byteLength(body)).toBeLessThanOrEqual(16 * 1024 + 2)
  expect(body).toMatch(/^é{1000,}$/)
})

test('a body under the cap in several chunks is whole, a character split between chunks included', async () => {
  handler = (_req, res) => {
    res.writeHead(400)
    const bytes = Buffer.from('{"errors":["é' + 'x'.repeat(100) + '"]}')
    // The 'é' split between two writes.
    res.write(bytes.subarray(0, 13))
    setTimeout(() => res.end(bytes.subarray(13)), 20)
  }
  const outcome = await send(undefined, 1024)
  expect(outcome).toMatchObject({ kind: 'reply', status: 400, truncated: false })
  expect(outcome.kind === 'reply' && outcome.body).toBe('{"errors":["é' + 'x'.repeat(100) + '"]}')
})

describe('a compressed answer (a proxy may compress what Datadog does not) is read as it decodes, never as bytes', () => {
  const DATADOG_403 = '{"errors":["Forbidden: the application key lacks the synthetics_write permission"]}'
  const answering = (encoding: string, body: Buffer): void => {
    handler = (_req, res) =>
      res.writeHead(403, { 'Content-Type': 'application/json', 'Content-Encoding': encoding }).end(body)
  }
  const bodyOf = (sent: Sent): string => (sent.kind === 'reply' ? sent.body : `no reply: ${sent.message}`)

  test.each([
    ['gzip', 'gzip', gzipSync],
    ['x-gzip', 'gzip', gzipSync],
    ['deflate', 'zlib', deflateSync],
    ['deflate', 'raw deflate, as some servers send it', deflateRawSync],
    ['br', 'brotli', brotliCompressSync],
    [' GZIP, identity', 'gzip', gzipSync]
  ])('Content-Encoding: %s (%s) decodes', async (encoding, _format, compress) => {
    answering(encoding, compress(DATADOG_403))
    const sent = await send(undefined, 64 * 1024)
    expect(sent).toMatchObject({ kind: 'reply', status: 403, truncated: false })
    expect(bodyOf(sent)).toBe(DATADOG_403)
  })

  test.each([
    ['gzip', gzipSync],
    ['br', brotliCompressSync]
  ])('a 10 MB %s bomb stops at the cap: cut there, its start kept, quickly', async (encoding, compress) => {
    const bomb = compress(Buffer.alloc(10 * 1024 * 1024, 'a'))
    expect(bomb.length).toBeLessThan(64 * 1024)
    answering(encoding, bomb)
    const started = Date.now()
    const sent = await send(undefined, 64 * 1024)
    expect(Date.now() - started).toBeLessThan(1000)
    expect(sent).toMatchObject({ kind: 'reply', status: 403, truncated: true })
    expect(bodyOf(sent)).toBe('a'.repeat(16 * 1024))
  })

  test('a compressed body longer than the cap: what its start decodes to, cut', async () => {
    // Random text hardly compresses: the gzip stream goes well past the cap.
    const text = randomBytes(150 * 1024).toString('hex')
    answering('gzip', gzipSync(text))
    const sent = await send(undefined, 64 * 1024)
    expect(sent).toMatchObject({ kind: 'reply', status: 403, truncated: true })
    expect(bodyOf(sent)).toBe(text.slice(0, 16 * 1024))
  })

  test.each([
    ['zstd', 'zstd', '(a body in "zstd" encoding, not shown)'],
    ['compress', 'compress', '(a body in "compress" encoding, not shown)'],
    ['two stacked', 'gzip, br', '(a body in "gzip, br" encoding, not shown)'],
    ['a name of 200 characters', `x-${'a'.repeat(198)}`, `(a body in "x-${'a'.repeat(37)}…" encoding, not shown)`]
  ])('an encoding it does not read (%s) is named, the bytes not shown', async (_name, encoding, named) => {
    answering(encoding, gzipSync(DATADOG_403))
    expect(bodyOf(await send(undefined, 64 * 1024))).toBe(named)
  })

  test('a gzip body that does not decode is named, not printed', async () => {
    const corrupt = Buffer.concat([gzipSync(DATADOG_403).subarray(0, 10), Buffer.from([0xff, 0xfe, 0x00, 0x81, 0x9c])])
    answering('gzip', corrupt)
    const body = bodyOf(await send(undefined, 64 * 1024))
    expect(body).toBe('(a body in "gzip" encoding that does not decode, not shown)')
  })
})

test('the signal stops a stalled request and its reason says why', async () => {
  for (const [reason, kind, code] of [
    ['cancelled', 'cancelled', 'cancelled'],
    ['deadline', 'timeout', 'deadline'],
    ['attempt-timeout', 'timeout', 'attempt-timeout']
  ] as const) {
    const controller = new AbortController()
    // The server has the whole request and never answers.
    handler = req => void req.on('end', () => controller.abort(reason)).resume()
    expect(await send(controller.signal)).toMatchObject({ kind, code, requestSent: true })
  }
})

test('a refused connection is a network failure with a readable message', async () => {
  const closed = createServer()
  await new Promise<void>(done => closed.listen(0, '127.0.0.1', done))
  const port = (closed.address() as AddressInfo).port
  await new Promise(done => closed.close(done))
  const outcome = await sendTo(`http://127.0.0.1:${port}/`)
  expect(outcome).toMatchObject({ kind: 'network', code: 'ECONNREFUSED', message: 'connection refused (ECONNREFUSED)' })
})

test('an https:// request to a plain-HTTP server says so on one line, without OpenSSL text', async () => {
  const outcome = await sendTo(url.replace('http:', 'https:') + '/')
  expect(outcome).toMatchObject({
    kind: 'network',
    code: NOT_TLS,
    message: 'the server answers in plain HTTP, not TLS (ERR_SSL_WRONG_VERSION_NUMBER)'
  })
})

const DATADOG = new URL('https://api.datadoghq.com/api/v2/x')
test.each([
  [{ https_proxy: 'http://127.0.0.1:3128' }, 'proxy'],
  [{ HTTPS_PROXY: 'http://127.0.0.1:3128' }, 'proxy'],
  [{ https_proxy: '127.0.0.1:3128' }, 'proxy'],
  [{ http_proxy: 'http://127.0.0.1:3128' }, 'direct'],
  [{ https_proxy: 'http://[::1' }, 'invalid'],
  [{ https_proxy: 'socks5://127.0.0.1:1080' }, 'invalid'],
  [{ https_proxy: 'http://' }, 'invalid'],
  [{ https_proxy: 'http://u:%zz@127.0.0.1:3128' }, 'invalid'],
  [{}, 'direct']
])('the runner proxy settings %j route a Datadog request: %s', (env, kind) => {
  expect(routeTo(DATADOG, env).kind).toBe(kind)
})

test('no_proxy and loopback destinations go direct (as the toolkit reads no_proxy)', () => {
  const saved = process.env['no_proxy']
  process.env['no_proxy'] = 'datadoghq.com'
  try {
    expect(routeTo(DATADOG, { https_proxy: 'http://127.0.0.1:3128' }).kind).toBe('direct')
  } finally {
    if (saved === undefined) delete process.env['no_proxy']
    else process.env['no_proxy'] = saved
  }
  expect(routeTo(new URL('http://127.0.0.1:8080/x'), { http_proxy: 'http://127.0.0.1:3128' }).kind).toBe('direct')
})

test('a proxy is named by its address alone, never its credentials', () => {
  const route = routeTo(DATADOG, { https_proxy: 'http://me:p%40ss@proxy.internal:3128' })
  expect(route).toMatchObject({ kind: 'proxy', label: 'proxy.internal:3128' })
})

test('a stray answer a broken server sends after an error is not taken as the answer to the next request', async () => {
  // Each real answer takes 50 ms; 10 ms after it, an answer nobody asked for.
  const onRequest = (socket: Socket): void => {
    writeLater(socket, 50, 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n')
    writeLater(socket, 60, 'HTTP/1.1 204 No Content\r\n\r\n')
  }
  await withRawServer(onRequest, async url => {
    const transport = createTransport({})
    try {
      const target = { ...request(), url }
      const options = { signal: new AbortController().signal, idleTimeoutMs: 2000, maxBodyBytes: 100 }
      for (let i = 0; i < 3; i++)
        expect(await transport.send(target, options)).toMatchObject({ kind: 'reply', status: 404 })
    } finally {
      transport.close()
    }
  })
})

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

describe('an answer nobody asked for is never taken for the next request', () => {
  const STRAY = 'HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n'
  const answer = (status: string): string => `HTTP/1.1 ${status}\r\nContent-Length: 0\r\n\r\n`

  /** The first request gets `first` (and the stray, `strayAfterMs` later or in the same packet); later ones a 404. */
  async function secondAnswer(first: string, strayAfterMs: number | 'same packet', pauseMs: number): Promise<Sent> {
    let requests = 0
    const onRequest = (socket: Socket): void => {
      if (++requests > 1) return void socket.write(answer('404 Not Found'))
      if (strayAfterMs === 'same packet') return void socket.write(answer(first) + STRAY)
      socket.write(answer(first))
      writeLater(socket, strayAfterMs, STRAY)
    }
    let second: Sent | undefined
    await withRawServer(onRequest, async target => {
      const transport = createTransport({})
      const options = { signal: new AbortController().signal, idleTimeoutMs: 2000, maxBodyBytes: 100 }
      try {
        expect(await transport.send({ ...request(), url: target }, options)).toMatchObject({
          status: Number(first.slice(0, 3))
        })
        await new Promise(done => setTimeout(done, pauseMs))
        second = await transport.send({ ...request(), url: target }, options)
      } finally {
        transport.close()
      }
    })
    return second as unknown as Sent
  }

  test.each([
    ['204 No Content', 'on an idle connection', 10, 50],
    ['204 No Content', 'in the same packet as a 2xx', 'same packet' as const, 0],
    ['500 Internal Server Error', 'in the same packet as an error answer', 'same packet' as const, 0],
    ['500 Internal Server Error', 'after an error answer, on the idle connection', 10, 50]
  ])('first answer %s, stray %s', async (first, _, strayAfterMs, pauseMs) => {
    expect(await secondAnswer(first, strayAfterMs, pauseMs)).toMatchObject({ kind: 'reply', status: 404 })
  })
})

describe('no socket outlives the transport or its attempt', () => {
  /** A TCP server that reads and never answers; resolves `closed` once the connection it took is closed by the client. */
  async function silentServer(onData: (text: string, socket: Socket) => void = () => undefined) {
    let seen: (socket: Socket) => void = () => undefined
    const accepted = new Promise<Socket>(resolve => (seen = resolve))
    const server = createNetServer(socket => {
      socket.on('error', () => undefined)
      socket.on('data', data => onData(data.toString('latin1'), socket))
      seen(socket)
    })
    await new Promise<void>(done => server.listen(0, '127.0.0.1', done))
    const closed = accepted.then(socket => new Promise<void>(done => socket.on('close', () => done())))
    return { port: (server.address() as AddressInfo).port, closed, stop: () => server.close() }
  }

  const attempt = (signal: AbortSignal) => ({ signal, idleTimeoutMs: 300, maxBodyBytes: 100 })

  test('a TLS handshake that never completes is ended by close(), not left to the connect timeout', async () => {
    const server = await silentServer()
    const transport = createTransport({})
    try {
      const sent = await transport.send(
        { ...request(), url: `https://127.0.0.1:${server.port}/` },
        attempt(AbortSignal.timeout(200))
      )
      expect(sent).toMatchObject({ kind: 'timeout', requestSent: false })
      transport.close()
      await server.closed
    } finally {
      server.stop()
    }
  }, 5000)

  test('a proxy that opens the tunnel and then stays silent: close() ends the tunnel', async () => {
    const proxy = await silentServer((text, socket) => {
      if (text.startsWith('CONNECT ')) socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
    })
    const transport = createTransport({ https_proxy: `http://127.0.0.1:${proxy.port}` })
    try {
      const sent = await transport.send(
        { ...request(), url: 'https://api.datadoghq.com/' },
        attempt(AbortSignal.timeout(200))
      )
      expect(sent).toMatchObject({ requestSent: false })
      transport.close()
      await proxy.closed
    } finally {
      proxy.stop()
    }
  }, 5000)

  test('a proxy that never answers CONNECT is given up at the idle limit, its connection closed, the target as Host', async () => {
    let connect = ''
    const proxy = await silentServer(text => (connect += text))
    const transport = createTransport({ https_proxy: `http://127.0.0.1:${proxy.port}` })
    try {
      const sent = await transport.send(
        { ...request(), url: 'https://api.datadoghq.com/' },
        attempt(new AbortController().signal)
      )
      expect(sent).toMatchObject({ kind: 'timeout', code: 'proxy-idle', requestSent: false })
      // Without close(): the attempt itself let go of the connection.
      await proxy.closed
      expect(connect).toMatch(/^CONNECT api\.datadoghq\.com:443 HTTP\/1\.1\r\n/)
      expect(connect).toMatch(/\r\nhost: api\.datadoghq\.com:443\r\n/i)
    } finally {
      transport.close()
      proxy.stop()
    }
  }, 5000)
})
