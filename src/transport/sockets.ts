import type { Duplex } from 'node:stream'
import { buildConnector } from 'undici'

// undici's destroy() leaves a socket that is still connecting, or still in
// its TLS handshake, to its connect timeout: a firewall that drops packets
// would keep the step's process alive that long after its report. So every
// socket the transport opens is recorded here, and closing ends them all.

// undici's connector returns the socket it opens (lib/core/connect.js),
// though its type says nothing is returned; a test holds it to that.
type Opening = (options: buildConnector.Options, callback: buildConnector.Callback) => Duplex | undefined

export interface Sockets {
  /** A connector for undici that records each socket it opens. */
  readonly connector: buildConnector.connector
  /** Records a socket opened elsewhere: a proxy's tunnel. */
  track(socket: Duplex): void
  /** Ends every socket recorded and still open, connecting ones included. */
  destroyAll(): void
}

export function createSockets(connectTimeoutMs: number): Sockets {
  const open = new Set<Duplex>()
  const track = (socket: Duplex): void => {
    if (socket.destroyed) return
    open.add(socket)
    socket.once('close', () => open.delete(socket))
  }
  const connect = buildConnector({ timeout: connectTimeoutMs }) as unknown as Opening
  return {
    connector: (options, callback) => {
      const socket = connect(options, callback)
      if (socket) track(socket)
    },
    track,
    destroyAll: () => {
      for (const socket of open) socket.destroy()
      open.clear()
    }
  }
}
