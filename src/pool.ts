import { isIP, type Socket, connect as connectTcp } from 'node:net'
import { connect as connectTls } from 'node:tls'

// Connections to the API host, kept open between requests. A connection
// costs node more than its request: opened and closed for each of ten
// thousand answers, their leftovers make V8 grow its young generation to its
// largest. Kept, they need care: an answer nobody asked for (a broken server
// or proxy sending a second one) must never be taken for the next request's.
// So an idle connection that receives anything is closed, and one that
// brought an error answer rests before it carries another request: a stray
// answer that follows an error arrives while nothing waits on it.

/** How long a connection that brought an answer other than 2xx stays unused. */
export const REST_AFTER_ERROR_MS = 100
// Idle connections kept at most; past that, a returning one is closed.
const MAX_IDLE = 256

export interface Pool {
  /** A rested idle connection to the URL's host, or a new one. */
  take(url: URL): Socket
  /** The status of the answer a connection is bringing: after an error, it rests once the answer is read whole. */
  answered(socket: Socket, status: number): void
  /** Closes every connection, idle or not. */
  close(): void
}

interface Idle {
  readonly socket: Socket
  readonly origin: string
  readonly restsUntil: number
  readonly onStray: () => void
}

export function createPool(now: () => number = Date.now): Pool {
  const idle: Idle[] = []
  const all = new Set<Socket>()
  const lastStatus = new WeakMap<Socket, number>()

  const forget = (socket: Socket): void => {
    all.delete(socket)
    const at = idle.findIndex(entry => entry.socket === socket)
    if (at >= 0) idle.splice(at, 1)
  }

  const park = (socket: Socket, origin: string): void => {
    if (socket.destroyed || idle.length >= MAX_IDLE) {
      socket.destroy()
      return
    }
    // Anything that arrives now answers no request of ours.
    const onStray = (): void => {
      socket.destroy()
    }
    socket.on('data', onStray)
    socket.setTimeout(0)
    socket.unref()
    // The rest counts from now, when the answer is read whole, however long its body took.
    const status = lastStatus.get(socket) ?? 0
    const restsUntil = status >= 200 && status <= 299 ? 0 : now() + REST_AFTER_ERROR_MS
    idle.push({ socket, origin, restsUntil, onStray })
  }

  const open = (url: URL, origin: string): Socket => {
    const host = url.hostname.replace(/^\[|\]$/g, '')
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80)
    const socket =
      url.protocol === 'https:'
        ? connectTls({ host, port, servername: isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'] })
        : connectTcp({ host, port })
    all.add(socket)
    // An idle connection's error ends it, and nothing else.
    socket.on('error', () => socket.destroy())
    socket.on('close', () => forget(socket))
    // node's HTTP client says 'free' once an answer is read whole and the connection may carry another.
    socket.on('free', () => park(socket, origin))
    return socket
  }

  return {
    take: url => {
      const origin = `${url.protocol}//${url.host}`
      // The most recently parked first: the least likely to have been closed by the server.
      for (let at = idle.length - 1; at >= 0; at--) {
        const entry = idle[at]
        if (entry === undefined || entry.origin !== origin || entry.restsUntil > now()) continue
        idle.splice(at, 1)
        entry.socket.removeListener('data', entry.onStray)
        // Destroyed (a stray answer, the server's close) but not yet closed: never handed out.
        if (entry.socket.destroyed || !entry.socket.writable) continue
        entry.socket.ref()
        return entry.socket
      }
      return open(url, origin)
    },
    answered: (socket, status) => {
      lastStatus.set(socket, status)
    },
    close: () => {
      for (const socket of all) socket.destroy()
      all.clear()
      idle.length = 0
    }
  }
}
