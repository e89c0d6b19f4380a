import * as http from 'node:http'
import * as https from 'node:https'
import type { Socket } from 'node:net'
import { checkBypass } from '@actions/http-client/lib/proxy'
import type { SendFailure } from './http.js'
import { oneLine } from './text.js'

// The runner's proxy, reached by a CONNECT tunnel that this module opens
// itself, so the step's signal and idle limit cover the tunnel as they cover
// the request, and a proxy's refusal is reported as the proxy's.

/** How to reach a destination: directly, through a proxy, or not at all (a proxy variable that is not a URL). */
export type Route =
  | { readonly kind: 'direct' }
  | { readonly kind: 'proxy'; readonly url: URL; readonly label: string }
  | { readonly kind: 'invalid'; readonly variable: string }

type Env = Readonly<Record<string, string | undefined>>

/** The route to `target` under the runner's `https_proxy` / `http_proxy` and `no_proxy` (as the toolkit reads them). */
export function routeTo(target: URL, env: Env): Route {
  const names = target.protocol === 'https:' ? ['https_proxy', 'HTTPS_PROXY'] : ['http_proxy', 'HTTP_PROXY']
  const variable = names.find(name => (env[name] ?? '').trim() !== '')
  if (variable === undefined || checkBypass(target)) return { kind: 'direct' }
  const value = (env[variable] ?? '').trim()
  const url = parseProxy(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`)
  if (!url) return { kind: 'invalid', variable }
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

/** Failures no retry can mend: a proxy that wants credentials or forbids the host, or a proxy setting that is not a URL. */
export const PERMANENT_PROXY_CODES = new Set(['PROXY_407', 'PROXY_403', 'EPROXYURL'])

export function invalidProxy(variable: string): SendFailure {
  return {
    kind: 'network',
    code: 'EPROXYURL',
    message: `the ${variable} environment variable is not a proxy URL (http://host:port) (EPROXYURL)`,
    requestSent: false
  }
}

interface TunnelOptions {
  readonly signal: AbortSignal
  readonly idleTimeoutMs: number
}

/** A socket tunnelled to `target` through the proxy, or why there is none. */
export function openTunnel(
  route: { readonly url: URL; readonly label: string },
  target: URL,
  options: TunnelOptions
): Promise<Socket | SendFailure> {
  return new Promise(resolve => {
    const { label, url } = route
    const port = target.port || (target.protocol === 'https:' ? '443' : '80')
    const authority = `${target.hostname}:${port}`
    let settled = false
    const settle = (outcome: Socket | SendFailure): void => {
      if (settled) return
      settled = true
      options.signal.removeEventListener('abort', onAbort)
      resolve(outcome)
    }
    const fail = (kind: SendFailure['kind'], code: string, message: string): void =>
      settle({ kind, code, message: `${message} (${code})`, requestSent: false })
    const stop = (): void => {
      if (options.signal.reason !== 'cancelled')
        return fail('timeout', 'proxy-timeout', `the proxy ${label} did not open the tunnel in time`)
      settle({ kind: 'cancelled', code: 'cancelled', message: 'the step was cancelled', requestSent: false })
    }
    // Hoisted, so settle() can remove it on every path.
    function onAbort(): void {
      stop()
      connect.destroy()
    }
    if (options.signal.aborted) return stop()
    options.signal.addEventListener('abort', onAbort, { once: true })

    const auth = url.username || url.password
    const connect = (url.protocol === 'https:' ? https : http).request({
      host: url.hostname,
      port: url.port || (url.protocol === 'https:' ? 443 : 80),
      method: 'CONNECT',
      path: authority,
      agent: false,
      headers: {
        Host: authority,
        ...(auth
          ? {
              'Proxy-Authorization': `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
            }
          : {})
      }
    })
    connect.setTimeout(options.idleTimeoutMs, () => {
      fail('timeout', 'proxy-idle', `the proxy ${label} did not answer the CONNECT request`)
      connect.destroy()
    })
    const refused = (status: number, socket?: Socket): void => {
      socket?.destroy()
      connect.destroy()
      fail(
        'network',
        `PROXY_${status}`,
        `the proxy ${label} refused the tunnel: ${status} ${http.STATUS_CODES[status] ?? ''}`.trim()
      )
    }
    connect.on('connect', (answer: http.IncomingMessage, socket: Socket, head: Buffer) => {
      const status = answer.statusCode ?? 0
      if (status < 200 || status > 299) return refused(status, socket)
      if (settled) return void socket.destroy()
      connect.setTimeout(0)
      if (head.length > 0) socket.unshift(head)
      settle(socket)
    })
    connect.on('response', (answer: http.IncomingMessage) => refused(answer.statusCode ?? 0))
    connect.on('error', error => {
      const code = (error as NodeJS.ErrnoException).code ?? 'error'
      fail('network', code, proxyProblem(label, code, error.message))
    })
    connect.end()
  })
}

function proxyProblem(label: string, code: string, message: string): string {
  if (code === 'ECONNREFUSED') return `the proxy ${label} refused the connection`
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the proxy host ${label} was not found (DNS)`
  if (code === 'ECONNRESET' || code === 'EPIPE')
    return `the proxy ${label} closed the connection instead of opening the tunnel`
  if (code.startsWith('HPE_')) return `the proxy ${label} answered CONNECT with something that is not HTTP`
  return `the proxy ${label} could not be used: ${oneLine(message, 120)}`
}
