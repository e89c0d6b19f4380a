import { isPermanentFailure } from '../transport/failures.js'
import { header, type Headers, type Sent } from '../transport/sent.js'

export interface RetryPolicy {
  /** First backoff ceiling; it doubles with each retry. */
  readonly baseDelayMs: number
  /** No single wait is longer than this, whatever a header asks for. */
  readonly maxDelayMs: number
}

export const DEFAULT_POLICY: RetryPolicy = { baseDelayMs: 500, maxDelayMs: 60_000 }

const RETRY_STATUSES = new Set([429, 500, 502, 503, 504])

export interface Verdict {
  readonly retry: boolean
  /** Whether the server may have carried out the abort without us knowing. */
  readonly outcomeUnknown: boolean
}

/** Whether what a request came to is worth another try (a cancelled one never reaches here). */
export function classify(sent: Sent): Verdict {
  // A certificate that fails verification fails it again, as does a proxy that refuses us: no retry.
  if (sent.kind === 'network' && isPermanentFailure(sent.code)) return { retry: false, outcomeUnknown: false }
  if (sent.kind !== 'reply') return { retry: true, outcomeUnknown: sent.requestSent }
  const { status } = sent
  if (status >= 200 && status < 300) return { retry: false, outcomeUnknown: false }
  if (RETRY_STATUSES.has(status)) return { retry: true, outcomeUnknown: status >= 500 }
  // A 4xx is the server's considered refusal even when its body broke off.
  return { retry: false, outcomeUnknown: false }
}

type DelaySource = 'x-ratelimit-reset' | 'retry-after' | 'backoff'

export interface Delay {
  /** What to wait: the wanted wait, capped. */
  readonly ms: number
  /** What the source asked for, before the cap: a reset past the deadline is not worth waiting for at all. */
  readonly wantedMs: number
  readonly source: DelaySource
}

/** The time and the randomness a delay depends on. */
export interface DelayClock {
  readonly nowMs: number
  readonly random: () => number
}

/**
 * How long to wait before retry number `retry` (1 for the first), given what
 * the last attempt came to (its status and headers, when an answer came):
 * the server's rate-limit reset when the window is spent, else its
 * Retry-After, else exponential backoff with full jitter. `ms` is always
 * within [0, maxDelayMs]; `wantedMs` may be anything a header said.
 */
export function retryDelay(
  retry: number,
  answer: { readonly status: number; readonly headers: Headers } | undefined,
  clock: DelayClock,
  policy: RetryPolicy = DEFAULT_POLICY
): Delay {
  const delay = (wanted: number, source: DelaySource): Delay => {
    const wantedMs = Math.max(0, Math.ceil(wanted))
    return { ms: Math.min(policy.maxDelayMs, wantedMs), wantedMs, source }
  }
  const headers = answer?.headers
  // Datadog sends X-RateLimit-Reset on every answer: it says when to come
  // back on a 429 (whatever Remaining says, as Datadog's clients read it) or
  // once the window is spent, not for a 503 with budget left.
  const remaining = headers ? parseSeconds(header(headers, 'x-ratelimit-remaining')) : undefined
  const spent = answer?.status === 429 || remaining === undefined || remaining === 0
  const reset = headers && spent ? rateLimitResetMs(headers) : undefined
  if (reset !== undefined) return delay(reset, 'x-ratelimit-reset')
  const after = headers ? retryAfterMs(header(headers, 'retry-after'), clock.nowMs) : undefined
  if (after !== undefined) return delay(after, 'retry-after')
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(Math.max(retry - 1, 0), 30))
  return delay(clock.random() * ceiling, 'backoff')
}

/**
 * Milliseconds until the rate-limit window resets, if the answer says.
 * Datadog documents the header as whole seconds until the reset, and no
 * Datadog source shows it as a Unix time: a huge value is a huge countdown,
 * which no caller waits for past its deadline.
 */
export function rateLimitResetMs(headers: Headers): number | undefined {
  const seconds = parseSeconds(header(headers, 'x-ratelimit-reset'))
  return seconds === undefined ? undefined : seconds * 1000
}

/** Milliseconds a Retry-After header (seconds or an HTTP date) asks for. */
export function retryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined
  const seconds = parseSeconds(value)
  if (seconds !== undefined) return seconds * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs)
}

/**
 * The name Datadog gives a rate limit (X-RateLimit-Name), for support: only
 * the characters such a name has, so a server cannot put a link or markup
 * where the name is quoted.
 */
export function rateLimitName(headers: Headers): string | undefined {
  const name = (header(headers, 'x-ratelimit-name') ?? '').replace(/[^A-Za-z0-9._:-]/g, '').slice(0, 80)
  return name === '' ? undefined : name
}

/** A header's non-negative number of seconds (or count); undefined when it is not one. */
export function parseSeconds(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,12}(\.\d+)?$/.test(value)) return undefined
  return Number(value)
}
