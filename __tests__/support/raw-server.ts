// A server that writes raw bytes on each request, as a broken server or
// proxy might: for the tests of answers nobody asked for.
import { createServer, type AddressInfo, type Socket } from 'node:net'

/**
 * Runs `body` against a server that calls `onRequest` with the connection
 * each time a request arrives; `accepted` tells how many connections it has
 * taken. The server is closed afterwards.
 */
export async function withRawServer(
  onRequest: (socket: Socket) => void,
  body: (url: string, accepted: () => number) => Promise<void>
): Promise<void> {
  let accepted = 0
  const server = createServer(socket => {
    accepted++
    socket.on('error', () => undefined)
    socket.on('data', () => onRequest(socket))
  })
  await new Promise<void>(done => server.listen(0, '127.0.0.1', done))
  try {
    await body(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, () => accepted)
  } finally {
    await new Promise(done => server.close(done))
  }
}

/** Writes `bytes` after `ms`, unless the connection is gone by then. */
export function writeLater(socket: Socket, ms: number, bytes: string): void {
  setTimeout(() => socket.writable && socket.write(bytes), ms)
}
