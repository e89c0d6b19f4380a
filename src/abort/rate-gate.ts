import { header, type Headers } from '../transport/sent.js'
import { parseSeconds, rateLimitName, rateLimitResetMs, retryAfterMs } from './retry.js'
import { elapsed, quote } from '../text/text.js'

export type Sleep = (ms: number, signal: AbortSignal) => Promise<boolean>

/** A worker's turn: a ticket to settle with the answer, or why no request may go. */
export type Turn =
  | { readonly kind: 'go'; readonly ticket: number }
  | { readonly kind: 'stopped' }
  | { readonly kind: 'held'; readonly reason: string }

/** The part of an answer the gate learns from. */
export interface Answer {
  readonly status: number
  readonly headers: Headers
}

export interface GateOptions {
  readonly now: () => number
  readonly sleep: Sleep
  /** Epoch milliseconds: a pause that ends later is not waited for. */
  readonly deadline: number
}

/**
 * One gate shared by every worker of a batch, thinking in Datadog's
 * calendar windows: it sends as many requests as the window has left, at
 * once (the workers bound how many are in flight), then holds everyone until
 * the reset an answer announced, and starts the next window with a full
 * budget. Bursting beats pacing at the average rate: the window's budget is
 * spent early and the wait to the reset is the only wait.
 */
export class RateGate {
  private readonly options: GateOptions
  /** Tickets handed out; each request gets the next. */
  private sent = 0
  /**
   * The ticket whose answer last set the budget: answers to tickets up to
   * here are overtaken, or about a window that has ended.
   */
  private applied = 0
  /** Requests the window still allows; undefined while no answer has told. */
  private budget: number | undefined
  private limit: number | undefined
  private inFlight = 0
  /** The earliest time an answer vouches the window is over by. */
  private resetAt: number | undefined
  private resetSource = ''
  private pausedUntil = 0
  private name: string | undefined
  private waiters: (() => void)[] = []

  constructor(options: GateOptions) {
    this.options = options
  }

  /** Waits for this worker's turn. */
  async acquire(signal: AbortSignal): Promise<Turn> {
    for (;;) {
      if (signal.aborted) return { kind: 'stopped' }
      const now = this.options.now()
      if (this.resetAt !== undefined && now >= this.resetAt && now >= this.pausedUntil) this.newWindow()
      if (now < this.pausedUntil) {
        if (this.pausedUntil >= this.options.deadline) return { kind: 'held', reason: this.heldReason(now) }
        if (!(await this.options.sleep(this.pausedUntil - now, signal))) return { kind: 'stopped' }
        continue
      }
      if (this.budget === undefined || this.budget > 0 || (this.inFlight === 0 && this.resetAt === undefined)) {
        // With the budget spent and nothing in flight, no answer is coming
        // to say more: one request finds out.
        if (this.budget !== undefined) this.budget = Math.max(0, this.budget - 1)
        this.inFlight++
        return { kind: 'go', ticket: ++this.sent }
      }
      if (this.resetAt !== undefined) this.pausedUntil = Math.max(this.pausedUntil, this.resetAt)
      else await this.news(signal)
    }
  }

  /** Hands back a ticket with what its request came to: an answer, or nothing (a network failure). */
  settle(ticket: number, answer: Answer | undefined): void {
    this.inFlight--
    if (answer !== undefined) this.learn(ticket, answer)
    const waiters = this.waiters
    this.waiters = []
    for (const wake of waiters) wake()
  }

  private learn(ticket: number, { status, headers }: Answer): void {
    const limit = parseSeconds(header(headers, 'x-ratelimit-limit'))
    if (limit !== undefined && limit >= 1) this.limit = Math.floor(limit)
    this.name = rateLimitName(headers) ?? this.name
    // An answer overtaken by a later one knows less, and may even be about
    // a window that has ended since.
    if (ticket <= this.applied) return
    const now = this.options.now()
    const remaining = parseSeconds(header(headers, 'x-ratelimit-remaining'))
    let budget: number
    // A 429 says the window is spent whatever X-RateLimit-Remaining claims.
    if (status === 429) budget = 0
    // Requests granted after this one may not be counted in its answer yet.
    else if (remaining !== undefined) budget = Math.max(0, Math.floor(remaining) - (this.sent - ticket))
    else return
    // More budget than counted on: the server's window has turned already,
    // and an earlier answer's reset is about the window before.
    const later = status === 429 || (this.budget !== undefined && budget > this.budget)
    this.budget = budget
    this.applied = ticket
    const reset = rateLimitResetMs(headers)
    const wait = reset ?? (status === 429 ? retryAfterMs(header(headers, 'retry-after'), now) : undefined)
    if (wait !== undefined && (later || this.resetAt === undefined || now + wait < this.resetAt)) {
      this.resetAt = now + wait
      this.resetSource = reset === undefined ? 'Retry-After' : 'X-RateLimit-Reset'
    }
  }

  private newWindow(): void {
    this.budget = this.limit ?? (this.budget === undefined ? undefined : 1)
    this.applied = this.sent
    this.resetAt = undefined
  }

  private heldReason(now: number): string {
    const limit = this.name === undefined ? "Datadog's rate limit" : `Datadog's rate limit ${quote(this.name, 80)}`
    return `${limit} resets in ${elapsed(this.pausedUntil - now)} (${this.resetSource}), after the step's timeout`
  }

  private news(signal: AbortSignal): Promise<void> {
    return new Promise(resolve => {
      const wake = (): void => {
        signal.removeEventListener('abort', wake)
        resolve()
      }
      this.waiters.push(wake)
      signal.addEventListener('abort', wake, { once: true })
    })
  }
}
