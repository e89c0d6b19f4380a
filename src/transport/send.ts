import { Agent, util, type Dispatcher } from 'undici'
import { decodeBody } from './decode.js'
import { failureOf, fromSignal, type Phase } from './failures.js'
import { routeTo, tunnelClient } from './proxy.js'

/** One request as the transport sends it. */
export interface Outgoing {
  readonly method: 'POST'
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

export type Headers = Readonly<Record<string, string | string[] | undefined>>

/** The server's reply to one request. */
export interface Reply {
  readonly kind: 'reply'
  readonly status: number
  readonly headers: Headers
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
  /** Aborts the attempt; its reason, an AbortReason, tells why. */
  readonly signal: AbortSignal
  /** No byte from the server for this long fails the attempt. */
  readonly idleTimeoutMs: number
  readonly maxBodyBytes: number
}

export type Send = (request: Outgoing, options: SendOptions) => Promise<Sent>

export interface Transport {
  readonly send: Send
  /** Ends every connection, so the process can exit at once. */
  close(): void
}

export const MAX_BODY_BYTES = 64 * 1024

// A body past the cap is never parsed, and no message shows more than its
// start: only that much of it becomes text.
const CUT_BODY_TEXT_BYTES = 16 * 1024
// Past the cap, up to this much more is read and dropped so the connection
// stays usable; a longer body ends the connection.
const MAX_DROPPED_BYTES = 1024 * 1024

/**
 * Sends requests with undici: directly over kept-alive connections, or
 * through a CONNECT tunnel to the runner's proxy (`https_proxy`, `no_proxy`).
 * Redirects are never followed, the body is read under a cap, and the signal
 * settles the request at any point, a connection or tunnel being opened included.
 */
export function createTransport(env: Readonly<Record<string, string | undefined>> = process.env): Transport {
  const agent = new Agent({ connect: { timeout: 30_000 } })
  return {
    send: async (request, options) => {
      const target = new URL(request.url)
      const route = routeTo(target, env)
      if (route.kind === 'invalid') return route.failure
      if (route.kind === 'direct') return exchange(agent, request, options, 'server')
      const tunnel = await tunnelClient(agent, route, target, options)
      if ('kind' in tunnel) return tunnel
      return exchange(tunnel, request, options, 'server').finally(() => void tunnel.destroy().catch(() => {}))
    },
    close: () => void agent.destroy().catch(() => {})
  }
}

interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly chunks: Buffer[]
  size: number
  dropped: number
}

/**
 * One request on `dispatcher`. Once the status line is in, a stall or a cut
 * later on still gives a known answer: a 2xx means the abort happened,
 * whatever the body does.
 */
function exchange(dispatcher: Dispatcher, request: Outgoing, options: SendOptions, phase: Phase): Promise<Sent> {
  const { signal, idleTimeoutMs, maxBodyBytes } = options
  return new Promise<Sent>(resolve => {
    let requestSent = false
    let answer: Answer | undefined
    let abort: ((error: Error) => void) | undefined
    let settled = false
    const settle = (sent: Sent | Promise<Sent>): void => {
      if (settled) return
      settled = true
      signal.removeEventListener('abort', onAbort)
      resolve(sent)
    }
    const reply = (incomplete: boolean): void => {
      if (answer) settle(replyOf(answer, maxBodyBytes, incomplete))
    }
    const fail = (failure: Omit<SendFailure, 'requestSent'>): void =>
      answer ? reply(true) : settle({ ...failure, requestSent })
    // Settles at once, even while undici still waits for a connection, which its own abort would not stop.
    const onAbort = (): void => {
      fail(fromSignal(signal.reason, phase))
      abort?.(new Error('aborted'))
    }
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })

    const url = new URL(request.url)
    dispatcher.dispatch(
      {
        origin: url.origin,
        path: url.pathname + url.search,
        method: request.method,
        headers: request.headers,
        body: request.body,
        headersTimeout: idleTimeoutMs,
        bodyTimeout: idleTimeoutMs
      },
      {
        onConnect: abortWith => {
          if (settled) abortWith(new Error('settled'))
          else abort = abortWith
        },
        onBodySent: () => {
          requestSent = true
        },
        onHeaders: (status, raw) => {
          if (status >= 200) answer = { status, headers: util.parseHeaders(raw), chunks: [], size: 0, dropped: 0 }
          return true
        },
        onData: chunk => {
          if (!answer) return true
          if (answer.size < maxBodyBytes) {
            answer.chunks.push(chunk)
            answer.size += chunk.length
            // Answered at the cap; the rest is read through only to keep the connection.
            if (answer.size >= maxBodyBytes) reply(false)
          } else if ((answer.dropped += chunk.length) > MAX_DROPPED_BYTES) abort?.(new Error('body too long'))
          return true
        },
        onComplete: () => reply(false),
        onError: error => fail(failureOf(error, phase, idleTimeoutMs))
      }
    )
  })
}

async function replyOf(answer: Answer, maxBodyBytes: number, incomplete: boolean): Promise<Reply> {
  const cut = answer.size >= maxBodyBytes
  const decoded = await decodeBody(Buffer.concat(answer.chunks), answer.headers, {
    max: maxBodyBytes,
    partial: cut || incomplete
  })
  const reply = { kind: 'reply', status: answer.status, headers: answer.headers, incomplete } as const
  if (decoded.kind === 'unread') return { ...reply, body: decoded.text, truncated: cut }
  const truncated = cut || decoded.overCap
  const bytes = decoded.bytes.subarray(0, truncated ? Math.min(maxBodyBytes, CUT_BODY_TEXT_BYTES) : maxBodyBytes)
  return { ...reply, body: bytes.toString('utf8'), truncated }
}

/** One header's value; the first, when the header came more than once. */
export function header(headers: Headers, name: string): string | undefined {
  const value = headers[name]
  const first = Array.isArray(value) ? value[0] : value
  return first === undefined ? undefined : first.trim()
}
