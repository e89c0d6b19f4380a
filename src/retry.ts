import type { IncomingHttpHeaders } from 'node:http'
import { isTlsError, type Outcome } from './http.js'

export interface RetryPolicy {
  readonly maxRetries: number
  /** First backoff ceiling; it doubles with each retry. */
  readonly baseDelayMs: number
  /** No single wait is longer than this, whatever a header asks for. */
  readonly maxDelayMs: number
}

export const DEFAULT_POLICY: Omit<RetryPolicy, 'maxRetries'> = { baseDelayMs: 500, maxDelayMs: 60_000 }

const RETRY_STATUSES = new Set([429, 500, 502, 503, 504])

export interface Verdict {
  readonly retry: boolean
  /** Whether the server may have carried out the abort without us knowing. */
  readonly outcomeUnknown: boolean
}

/** Whether an attempt's outcome is worth another try. */
export function classify(outcome: Outcome): Verdict {
  if (outcome.kind === 'cancelled') return { retry: false, outcomeUnknown: outcome.requestSent }
  // A certificate that fails verification fails it again: no retry.
  if (outcome.kind === 'network' && isTlsError(outcome.code)) return { retry: false, outcomeUnknown: false }
  if (outcome.kind !== 'answer') return { retry: true, outcomeUnknown: outcome.requestSent }
  const { status } = outcome
  if (status >= 200 && status < 300) return { retry: false, outcomeUnknown: false }
  if (RETRY_STATUSES.has(status)) return { retry: true, outcomeUnknown: status >= 500 }
  // A 4xx is the server's considered refusal even when its body broke off.
  return { retry: false, outcomeUnknown: false }
}

export type DelaySource = 'x-ratelimit-reset' | 'retry-after' | 'backoff'

export interface Delay {
  /** What to wait: the wanted wait, capped. */
  readonly ms: number
  /** What the source asked for, before the cap: a reset past the deadline is not worth waiting for at all. */
  readonly wantedMs: number
  readonly source: DelaySource
}

// Seconds values from here on can only be absolute times (2001 onwards),
// never a countdown.
const UNIX_TIME_THRESHOLD = 1_000_000_000

/**
 * How long to wait before retry number `retry` (1 for the first): the
 * server's rate-limit reset when it gave one, else its Retry-After, else
 * exponential backoff with full jitter. Always within [0, maxDelayMs].
 */
export function retryDelay(
  retry: number,
  headers: IncomingHttpHeaders | undefined,
  policy: Omit<RetryPolicy, 'maxRetries'>,
  nowMs: number,
  random: () => number
): Delay {
  const delay = (wanted: number, source: DelaySource): Delay => {
    const wantedMs = Math.max(0, Math.ceil(wanted))
    return { ms: Math.min(policy.maxDelayMs, wantedMs), wantedMs, source }
  }
  // Datadog sends X-RateLimit-Reset on every answer: it says when to come
  // back only once the window is spent, not for a 503 with budget left.
  const remaining = headers ? parseSeconds(headerValue(headers, 'x-ratelimit-remaining')) : undefined
  const reset = headers && (remaining === undefined || remaining === 0) ? rateLimitResetMs(headers, nowMs) : undefined
  if (reset !== undefined) return delay(reset, 'x-ratelimit-reset')
  const after = headers ? retryAfterMs(headerValue(headers, 'retry-after'), nowMs) : undefined
  if (after !== undefined) return delay(after, 'retry-after')
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(Math.max(retry - 1, 0), 30))
  return delay(random() * ceiling, 'backoff')
}

/** Milliseconds until the rate-limit window resets, if the answer says. */
export function rateLimitResetMs(headers: IncomingHttpHeaders, nowMs: number): number | undefined {
  const seconds = parseSeconds(headerValue(headers, 'x-ratelimit-reset'))
  if (seconds === undefined) return undefined
  return seconds >= UNIX_TIME_THRESHOLD ? Math.max(0, seconds * 1000 - nowMs) : seconds * 1000
}

export function retryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined
  const seconds = parseSeconds(value)
  if (seconds !== undefined) return seconds * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs)
}

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  const first = Array.isArray(value) ? value[0] : value
  return first === undefined ? undefined : first.trim()
}

export function parseSeconds(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,12}(\.\d+)?$/.test(value)) return undefined
  return Number(value)
}
