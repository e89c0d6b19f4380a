// What the transport promises its callers: one request in, what it came to out.

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

/** One header's value; the first, when the header came more than once. */
export function header(headers: Headers, name: string): string | undefined {
  const value = headers[name]
  const first = Array.isArray(value) ? value[0] : value
  return first === undefined ? undefined : first.trim()
}
