import { createServer, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { afterAll, beforeAll, expect, test } from '@jest/globals'
import { sendWith } from '../src/http.js'
import { createPool, REST_AFTER_ERROR_MS, type Pool } from '../src/pool.js'
import { withRawServer, writeLater } from './support/raw-server.ts'

// Connections are counted where the server accepts them.
let server: Server
let url: string
let connections = 0
let status = 204
const sockets = new Set<Socket>()

// Bytes of body the server sends with each answer; 0 for the default.
let bodyBytes = 0

beforeAll(async () => {
  server = createServer((_req, res) => {
    if (bodyBytes > 0) return res.writeHead(status).end('x'.repeat(bodyBytes))
    res.writeHead(status).end(status === 204 ? undefined : '{"errors":["no"]}')
  })
  server.on('connection', socket => {
    connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>(done => server.listen(0, '127.0.0.1', done))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise(done => server.close(done))
})

const options = { signal: new AbortController().signal, idleTimeoutMs: 2000, maxBodyBytes: 1024 }
const send = (pool: Pool, target = url) =>
  sendWith(pool, { method: 'POST', url: target, headers: {}, body: '{}' }, options)

/** Runs `body` with a pool whose clock the test moves, then closes the pool. */
async function withPool(body: (pool: Pool, clock: { ms: number }) => Promise<void>): Promise<void> {
  const clock = { ms: 1_000_000 }
  const pool = createPool(() => clock.ms)
  try {
    await body(pool, clock)
  } finally {
    pool.close()
  }
}

test('one connection carries one request after another while the answers are 2xx', async () => {
  status = 204
  const before = connections
  await withPool(async pool => {
    for (let i = 0; i < 5; i++) expect(await send(pool)).toMatchObject({ kind: 'reply', status: 204 })
  })
  expect(connections - before).toBe(1)
})

test('a connection that brought an error answer rests before it carries another request', async () => {
  status = 404
  const before = connections
  await withPool(async (pool, clock) => {
    expect(await send(pool)).toMatchObject({ kind: 'reply', status: 404 })
    // At once: the first connection rests, a second one is opened.
    expect(await send(pool)).toMatchObject({ kind: 'reply', status: 404 })
    expect(connections - before).toBe(2)
    // Once their rest is over, both are used again; no third is opened.
    clock.ms += REST_AFTER_ERROR_MS
    expect(await send(pool)).toMatchObject({ kind: 'reply', status: 404 })
    expect(connections - before).toBe(2)
  })
})

test('an idle connection that receives anything is closed, never used for the next request', async () => {
  // A server that answers, then 20 ms later sends a 200 nobody asked for.
  const onRequest = (socket: Socket): void => {
    socket.write('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n')
    writeLater(socket, 20, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')
  }
  await withRawServer(onRequest, async (target, accepted) => {
    await withPool(async (pool, clock) => {
      expect(await send(pool, target)).toMatchObject({ kind: 'reply', status: 404 })
      await new Promise(done => setTimeout(done, 100))
      // Rested long enough, but the stray answer closed it: the next request gets a connection of its own.
      clock.ms += REST_AFTER_ERROR_MS
      expect(await send(pool, target)).toMatchObject({ kind: 'reply', status: 404 })
      expect(accepted()).toBe(2)
    })
  })
})

test('the rest counts from the end of a slow error answer, so a stray answer right after it is not taken', async () => {
  // Each request: a 503 whose body comes 150 ms after its headers, then 10 ms later a 202 nobody asked for.
  const onRequest = (socket: Socket): void => {
    socket.write('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\n\r\n')
    writeLater(socket, 150, '{}')
    writeLater(socket, 160, 'HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}')
  }
  await withRawServer(onRequest, async (target, accepted) => {
    const pool = createPool()
    try {
      expect(await send(pool, target)).toMatchObject({ kind: 'reply', status: 503 })
      expect(await send(pool, target)).toMatchObject({ kind: 'reply', status: 503 })
      expect(accepted()).toBe(2)
    } finally {
      pool.close()
    }
  })
})

test('closing the pool ends its connections, idle or not', async () => {
  status = 204
  await withPool(async pool => {
    await send(pool)
    expect(sockets.size).toBeGreaterThan(0)
    pool.close()
    await new Promise(done => setTimeout(done, 50))
    expect(sockets.size).toBe(0)
  })
})

test('a body past the cap is answered at the cap; a rest under 1 MiB is read through and the connection kept', async () => {
  status = 200
  bodyBytes = 512 * 1024
  const before = connections
  try {
    await withPool(async pool => {
      for (let i = 0; i < 3; i++) {
        const sent = await send(pool)
        expect(sent).toMatchObject({ kind: 'reply', status: 200, truncated: true })
        expect(sent.kind === 'reply' && sent.body).toBe('x'.repeat(1024))
        // The rest is still arriving: give it time to be read and dropped.
        await new Promise(done => setTimeout(done, 100))
      }
    })
  } finally {
    bodyBytes = 0
  }
  expect(connections - before).toBe(1)
})

test('a body more than 1 MiB past the cap ends its connection', async () => {
  status = 200
  bodyBytes = 3 * 1024 * 1024
  const before = connections
  try {
    await withPool(async pool => {
      for (let i = 0; i < 2; i++) {
        expect(await send(pool)).toMatchObject({ kind: 'reply', status: 200, truncated: true })
        await new Promise(done => setTimeout(done, 100))
      }
    })
  } finally {
    bodyBytes = 0
  }
  expect(connections - before).toBe(2)
})
