import { checkBypass } from '@actions/http-client/lib/proxy'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { Client, type buildConnector, type Dispatcher } from 'undici'
import { failureOf, fromSignal, proxyRefused, proxySilent } from './failures.js'
import type { SendFailure, SendOptions } from './sent.js'
import type { Sockets } from './sockets.js'

// The runner's proxy is reached by a CONNECT tunnel opened with undici's
// connect() under the attempt's signal. undici's ProxyAgent opens its tunnel
// where no signal reaches (a stalled proxy held a request for 300 s), and
// retries without end a proxy that closes the connection.

/** How to reach a destination: directly, through a proxy, or not at all (a proxy variable that is not a URL). */
export type Route =
  | { readonly kind: 'direct' }
  | { readonly kind: 'proxy'; readonly url: URL; readonly label: string }
  | { readonly kind: 'invalid'; readonly failure: SendFailure }

type Env = Readonly<Record<string, string | undefined>>

/** The route to `target` under the runner's `https_proxy` / `http_proxy` and `no_proxy` (as the toolkit reads them). */
export function routeTo(target: URL, env: Env): Route {
  const names = target.protocol === 'https:' ? ['https_proxy', 'HTTPS_PROXY'] : ['http_proxy', 'HTTP_PROXY']
  const variable = names.find(name => (env[name] ?? '').trim() !== '')
  if (variable === undefined || checkBypass(target)) return { kind: 'direct' }
  const value = (env[variable] ?? '').trim()
  const url = parseProxy(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`)
  if (!url) return { kind: 'invalid', failure: invalidProxy(variable) }
  // Credentials stay out of every message: the label is the address alone.
  return { kind: 'proxy', url, label: url.host }
}

function parseProxy(value: string): URL | undefined {
  try {
    const url = new URL(value)
    const plain = url.pathname === '/' && url.search === '' && url.hash === ''
    // Credentials that do not decode are a malformed setting too (decoding them later would throw).
    for (const part of [url.username, url.password]) decodeURIComponent(part)
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && plain ? url : undefined
  } catch {
    return undefined
  }
}

function invalidProxy(variable: string): SendFailure {
  return {
    kind: 'network',
    code: 'EPROXYURL',
    message: `the ${variable} environment variable is not a proxy URL (http://host:port) (EPROXYURL)`,
    requestSent: false
  }
}

type ProxyRoute = Extract<Route, { kind: 'proxy' }>

/** A tunnel: a client of its one connection, and the connection itself, which the client's destroy() may leave open. */
export interface Tunnel {
  readonly client: Client
  readonly socket: Duplex
}

/** A client of one connection, tunnelled to `target` through the proxy, or why there is none. */
export async function tunnelClient(
  { agent, sockets }: { readonly agent: Dispatcher; readonly sockets: Sockets },
  route: ProxyRoute,
  target: URL,
  options: SendOptions
): Promise<Tunnel | SendFailure> {
  const phase = { proxy: route.label }
  const authority = `${target.hostname}:${target.port || (target.protocol === 'https:' ? '443' : '80')}`
  // Its own signal: a proxy that never answers is given up at the idle limit, not left open.
  const connecting = new AbortController()
  const tunnel = agent.connect({
    origin: route.url.origin,
    path: authority,
    headers: { host: authority, ...proxyAuthorization(route.url) },
    signal: connecting.signal
  })
  const opened = await race(options.signal, options.idleTimeoutMs, tunnel)
  if (typeof opened === 'string') {
    connecting.abort()
    // The tunnel may still open: nothing is sent through it then.
    tunnel.then(
      ({ socket }) => socket.destroy(),
      () => undefined
    )
    const failure = opened === 'idle' ? proxySilent(route.label) : fromSignal(options.signal.reason, phase)
    return { ...failure, requestSent: false }
  }
  if (opened instanceof Error) return { ...failureOf(opened, phase, options.idleTimeoutMs), requestSent: false }
  const { statusCode, socket } = opened
  if (statusCode < 200 || statusCode > 299) {
    socket.destroy()
    return { ...proxyRefused(route.label, statusCode), requestSent: false }
  }
  sockets.track(socket)
  // undici hands over the connection it opened, a net.Socket typed as a Duplex.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
  return { client: overSocket(target, socket as Socket, sockets.connector), socket }
}

/** A client whose one connection is `socket`, with TLS over it for an https:// target. */
function overSocket(target: URL, socket: Socket, tls: buildConnector.connector): Client {
  let used = false
  return new Client(target.origin, {
    connect: (options, callback) => {
      if (used) return callback(Object.assign(new Error('the tunnel is closed'), { code: 'ECONNRESET' }), null)
      used = true
      if (target.protocol !== 'https:') return callback(null, socket)
      tls({ ...options, httpSocket: socket }, callback)
    }
  })
}

function proxyAuthorization(url: URL): Record<string, string> {
  if (!url.username && !url.password) return {}
  const pair = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`
  return { 'proxy-authorization': `Basic ${Buffer.from(pair).toString('base64')}` }
}

/** What `work` came to; 'aborted' as soon as the signal fires, 'idle' once `idleMs` pass, whether or not `work` has settled. */
function race<T>(signal: AbortSignal, idleMs: number, work: Promise<T>): Promise<T | Error | 'aborted' | 'idle'> {
  if (signal.aborted) return Promise.resolve('aborted')
  let onAbort = (): void => undefined
  let timer: NodeJS.Timeout | undefined
  const stopped = new Promise<'aborted' | 'idle'>(resolve => {
    onAbort = () => resolve('aborted')
    signal.addEventListener('abort', onAbort, { once: true })
    timer = setTimeout(() => resolve('idle'), idleMs)
  })
  const done = work.then(
    value => value,
    (error: unknown) => (error instanceof Error ? error : new Error(String(error)))
  )
  return Promise.race([done, stopped]).finally(() => {
    clearTimeout(timer)
    signal.removeEventListener('abort', onAbort)
  })
}
