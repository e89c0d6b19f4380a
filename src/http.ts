import * as http from 'node:http'
import * as https from 'node:https'
import { isIP, Socket } from 'node:net'
import * as tls from 'node:tls'
import { collectBody } from './body.js'
import type { Request } from './datadog.js'
import { createPool, type Pool } from './pool.js'
import { invalidProxy, openTunnel, PERMANENT_PROXY_CODES, routeTo } from './proxy.js'
import { oneLine } from './text.js'

/** The server's reply to one request. */
export interface Reply {
  readonly kind: 'reply'
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
  /** The body went past the size cap and the rest was not read; `body` is then its start. */
  readonly truncated: boolean
  /** The connection broke before the body was complete. */
  readonly incomplete: boolean
}

/** No reply: the request failed, timed out or was cancelled. */
export interface SendFailure {
  readonly kind: 'network' | 'timeout' | 'cancelled'
  /** A short code: ECONNREFUSED, ENOTFOUND, CERT_HAS_EXPIRED, idle... */
  readonly code: string
  readonly message: string
  /** The whole request had been written: the server may have acted on it. */
  readonly requestSent: boolean
}

/** What one request came to. */
export type Sent = Reply | SendFailure

export interface SendOptions {
  /** Aborts the attempt; its reason ('cancelled', 'deadline' or another) tells why. */
  readonly signal: AbortSignal
  /** No byte in either direction for this long fails the attempt. */
  readonly idleTimeoutMs: number
  readonly maxBodyBytes: number
}

export type Send = (request: Request, options: SendOptions) => Promise<Sent>

export interface Transport {
  readonly send: Send
  /** Closes kept-alive connections so the process can exit at once. */
  close(): void
}

export const MAX_BODY_BYTES = 64 * 1024

/**
 * Sends requests with node's own http(s): directly over kept-alive
 * connections (see pool.ts), or through a CONNECT tunnel to the runner's proxy (`https_proxy`,
 * `no_proxy`...). Redirects are never followed, the body is read with a
 * cap, and the signal stops the request at any point, tunnel included.
 */
export function createTransport(env: Readonly<Record<string, string | undefined>> = process.env): Transport {
  const pool = createPool()
  return {
    send: async (request, options) => {
      const target = new URL(request.url)
      const route = routeTo(target, env)
      if (route.kind === 'invalid') return invalidProxy(route.variable)
      if (route.kind === 'direct') return sendWith(pool, request, options)
      const tunnel = await openTunnel(route, target, options)
      if (!(tunnel instanceof Socket)) return tunnel
      const servername = isIP(target.hostname) ? undefined : target.hostname
      return sendWith(
        target.protocol === 'https:' ? tls.connect({ socket: tunnel, servername }) : tunnel,
        request,
        options
      )
    },
    close: () => pool.close()
  }
}

/** Sends one request over a kept-alive connection of the pool, or over a connection of its own (a proxy tunnel). */
export function sendWith(via: Pool | Socket, request: Request, options: SendOptions): Promise<Sent> {
  return new Promise<Sent>(resolve => {
    const url = new URL(request.url)
    const module = url.protocol === 'https:' ? https : http
    let requestSent = false
    let settled = false
    const finish = (sent: Sent): void => {
      if (settled) return
      settled = true
      options.signal.removeEventListener('abort', onAbort)
      resolve(sent)
    }
    // Once the status line is in, a stall or a cut later on still leaves a
    // known answer: a 2xx means the abort happened, whatever the body does.
    let partialReply: (() => void) | undefined
    const fail = (kind: SendFailure['kind'], code: string, message: string): void =>
      partialReply ? partialReply() : finish({ kind, code, message, requestSent })

    // A declaration, hoisted: finish() removes it even when the signal had
    // fired before the request was made (a const here was read too early).
    function onAbort(): void {
      failFromSignal(options.signal, fail)
      req.destroy()
    }
    if (options.signal.aborted) {
      failFromSignal(options.signal, fail)
      return
    }

    const body = Buffer.from(request.body, 'utf8')
    // Without an agent, node takes 80 as the default port when it writes the Host header.
    const defaultPort = url.protocol === 'https:' ? 443 : 80
    const own = via instanceof Socket
    const req = module.request(url, {
      method: request.method,
      createConnection: () => (own ? via : via.take(url)),
      defaultPort,
      // A pooled connection is kept open for the next request; a tunnel ends with its request.
      headers: { ...request.headers, 'Content-Length': String(body.length), Connection: own ? 'close' : 'keep-alive' }
    })
    options.signal.addEventListener('abort', onAbort, { once: true })
    req.setTimeout(options.idleTimeoutMs, () => {
      fail('timeout', 'idle', `no data for ${Math.round(options.idleTimeoutMs / 1000)} s`)
      req.destroy()
    })
    req.on('finish', () => {
      requestSent = true
    })
    req.on('error', error => {
      const code = isPlainHttpAnswer(error) ? NOT_TLS : ((error as NodeJS.ErrnoException).code ?? 'error')
      fail('network', code, networkMessage(code, error.message))
    })
    req.on('response', response => {
      const answer = collectBody(options.maxBodyBytes)
      const reply = (incomplete: boolean): void => {
        if (settled) return
        finish({
          kind: 'reply',
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: answer.text(),
          truncated: answer.truncated,
          incomplete
        })
      }
      partialReply = () => reply(true)
      // A server that answers with an error may go on to send an answer
      // nobody asked for: the pool rests such a connection (see pool.ts).
      if (!own) via.answered(response.socket, response.statusCode ?? 0)
      response.on('data', (chunk: Buffer) => {
        const state = answer.add(chunk)
        if (state === 'more') return
        // Answered at the cap; the rest is read through only to keep the connection.
        reply(false)
        if (state === 'stop') req.destroy()
      })
      response.on('end', () => reply(false))
      response.on('aborted', () => reply(true))
      response.on('error', () => reply(true))
      response.on('close', () => {
        if (!response.complete) reply(true)
      })
    })
    req.end(body)
  })
}

function failFromSignal(
  signal: AbortSignal,
  fail: (kind: SendFailure['kind'], code: string, message: string) => void
): void {
  const reason = signal.reason as unknown
  if (reason === 'cancelled') fail('cancelled', 'cancelled', 'the step was cancelled')
  else if (reason === 'deadline') fail('timeout', 'deadline', 'the step ran out of time')
  else fail('timeout', 'attempt-timeout', 'the attempt took too long')
}

const NETWORK_MESSAGES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed while sending',
  ENOTFOUND: 'host name not found (DNS)',
  EAI_AGAIN: 'temporary DNS failure',
  ETIMEDOUT: 'connection timed out',
  ENETUNREACH: 'network unreachable',
  EHOSTUNREACH: 'host unreachable',
  ECONNABORTED: 'connection aborted',
  UND_ERR_SOCKET: 'socket error',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS certificate is self-signed and not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS certificate chain has an untrusted self-signed certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate cannot be verified',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'TLS certificate issuer is not trusted',
  CERT_HAS_EXPIRED: 'TLS certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not match the host name',
  ERR_SSL_WRONG_VERSION_NUMBER: 'the server answers in plain HTTP, not TLS'
}

/** The code of an https:// request answered in plain HTTP (an http:// server, or the wrong port). */
export const NOT_TLS = 'ERR_SSL_WRONG_VERSION_NUMBER'

// OpenSSL reports it as EPROTO, its reason inside a message of several lines.
function isPlainHttpAnswer(error: NodeJS.ErrnoException): boolean {
  return (
    error.code === NOT_TLS ||
    (error.code === 'EPROTO' && /wrong version number|packet length too long/i.test(error.message))
  )
}

/** A failure that fails the same way again: an untrusted certificate, a proxy that refuses us or is not a URL. */
export function isPermanentFailure(code: string): boolean {
  return isTlsError(code) || PERMANENT_PROXY_CODES.has(code)
}

export function isTlsError(code: string): boolean {
  return /CERT|TLS|SSL|SIGNATURE|ISSUER/.test(code)
}

function networkMessage(code: string, fallback: string): string {
  const known = NETWORK_MESSAGES[code]
  if (known) return `${known} (${code})`
  if (isTlsError(code)) return `TLS error (${code})`
  if (code.startsWith('HPE_')) return `the answer is not valid HTTP (${code})`
  const openssl = /SSL routines:[^:]*:([^:]+)/.exec(fallback)
  if (openssl?.[1]) return `TLS failure: ${oneLine(openssl[1], 100)} (${code})`
  // Node's own messages name the address, never a header.
  return `${oneLine(fallback, 200)} (${code})`
}

/** One header's value; the first, when the header came more than once. */
export function header(headers: http.IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  const first = Array.isArray(value) ? value[0] : value
  return first === undefined ? undefined : first.trim()
}
