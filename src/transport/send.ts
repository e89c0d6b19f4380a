import { Agent, util, type Dispatcher } from 'undici'
import { decodeBody, isEncoded } from './decode.js'
import { failureOf, fromSignal, type Phase } from './failures.js'
import { routeTo, tunnelClient } from './proxy.js'
import { createSockets } from './sockets.js'
import type { Headers, Outgoing, Reply, SendFailure, SendOptions, Sent, Transport } from './sent.js'

export const MAX_BODY_BYTES = 64 * 1024

// A body past the cap is never parsed, and no message shows more than its
// start: only that much of it becomes text.
const CUT_BODY_TEXT_BYTES = 16 * 1024
// Past the cap, up to this much more is read and dropped so the connection
// stays usable; a longer body ends the connection.
const MAX_DROPPED_BYTES = 1024 * 1024
// Opening a connection, TLS included; each attempt's own limits come first.
const CONNECT_TIMEOUT_MS = 30_000

/**
 * Sends requests with undici: directly over kept-alive connections, or
 * through a CONNECT tunnel to the runner's proxy (`https_proxy`, `no_proxy`).
 * Redirects are never followed, the body is read under a cap, and the signal
 * settles the request at any point, a connection or tunnel being opened included.
 */
export function createTransport(env: Readonly<Record<string, string | undefined>> = process.env): Transport {
  const sockets = createSockets(CONNECT_TIMEOUT_MS)
  const agent = new Agent({ connect: sockets.connector })
  return {
    send: async (request, options) => {
      const target = new URL(request.url)
      const route = routeTo(target, env)
      if (route.kind === 'invalid') return route.failure
      if (route.kind === 'direct') return exchange(agent, request, options, 'server')
      const tunnel = await tunnelClient({ agent, sockets }, route, target, options)
      if ('kind' in tunnel) return tunnel
      return exchange(tunnel.client, request, options, 'server').finally(() => {
        void tunnel.client.destroy().catch(() => {})
        tunnel.socket.destroy()
      })
    },
    close: () => {
      void agent.destroy().catch(() => {})
      sockets.destroyAll()
    }
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
  const handler = new ExchangeHandler(options, phase)
  if (!handler.listen()) return handler.done
  const url = new URL(request.url)
  dispatcher.dispatch(
    {
      origin: url.origin,
      path: url.pathname + url.search,
      method: request.method,
      headers: request.headers,
      body: request.body,
      headersTimeout: options.idleTimeoutMs,
      bodyTimeout: options.idleTimeoutMs
    },
    handler
  )
  return handler.done
}

/** What undici tells of one request, turned into what it came to: settled once, the body read under the cap. */
class ExchangeHandler implements Dispatcher.DispatchHandlers {
  readonly done: Promise<Sent>
  private settle: (sent: Sent | Promise<Sent>) => void = () => undefined
  private settled = false
  private requestSent = false
  private answer: Answer | undefined
  private abort: ((error: Error) => void) | undefined

  private readonly options: SendOptions
  private readonly phase: Phase

  constructor(options: SendOptions, phase: Phase) {
    this.options = options
    this.phase = phase
    this.done = new Promise<Sent>(resolve => {
      this.settle = sent => {
        if (this.settled) return
        this.settled = true
        options.signal.removeEventListener('abort', this.onSignal)
        resolve(sent)
      }
    })
  }

  /** Follows the signal; false when it had fired already, and the request is not to be made. */
  listen(): boolean {
    if (this.options.signal.aborted) this.onSignal()
    else this.options.signal.addEventListener('abort', this.onSignal, { once: true })
    return !this.settled
  }

  // Settles at once, even while undici still waits for a connection, which its own abort would not stop.
  private readonly onSignal = (): void => {
    this.fail(fromSignal(this.options.signal.reason, this.phase))
    this.abort?.(new Error('aborted'))
  }

  onConnect(abort: (error: Error) => void): void {
    if (this.settled) abort(new Error('settled'))
    else this.abort = abort
  }

  onBodySent(): void {
    this.requestSent = true
  }

  onHeaders(status: number, raw: Buffer[]): boolean {
    if (status >= 200) this.answer = { status, headers: util.parseHeaders(raw), chunks: [], size: 0, dropped: 0 }
    return true
  }

  onData(chunk: Buffer): boolean {
    const { answer } = this
    if (!answer) return true
    if (answer.size < this.options.maxBodyBytes) {
      answer.chunks.push(chunk)
      answer.size += chunk.length
      // Answered at the cap; the rest is read through only to keep the connection.
      if (answer.size >= this.options.maxBodyBytes) this.reply(false)
    } else if ((answer.dropped += chunk.length) > MAX_DROPPED_BYTES) this.abort?.(new Error('body too long'))
    return true
  }

  onComplete(): void {
    this.reply(false)
  }

  onError(error: Error): void {
    this.fail(failureOf(error, this.phase, this.options.idleTimeoutMs))
  }

  private reply(incomplete: boolean): void {
    if (this.answer) this.settle(replyOf(this.answer, this.options.maxBodyBytes, incomplete))
  }

  private fail(failure: Omit<SendFailure, 'requestSent'>): void {
    if (this.answer) this.reply(true)
    else this.settle({ ...failure, requestSent: this.requestSent })
  }
}

async function replyOf(answer: Answer, maxBodyBytes: number, incomplete: boolean): Promise<Reply> {
  const cut = answer.size >= maxBodyBytes
  const shown = Math.min(maxBodyBytes, CUT_BODY_TEXT_BYTES)
  // Of a plain body cut at the cap, only what becomes text is copied: a batch of ten thousand such answers adds up.
  const copied = cut && !isEncoded(answer.headers) ? shown : answer.size
  const decoded = await decodeBody(Buffer.concat(answer.chunks, copied), answer.headers, {
    max: maxBodyBytes,
    partial: cut || incomplete
  })
  const reply = { kind: 'reply', status: answer.status, headers: answer.headers, incomplete } as const
  if (decoded.kind === 'unread') return { ...reply, body: decoded.text, truncated: cut }
  const truncated = cut || decoded.overCap
  const bytes = decoded.bytes.subarray(0, truncated ? shown : maxBodyBytes)
  return { ...reply, body: bytes.toString('utf8'), truncated }
}
