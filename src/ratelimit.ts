import type { IncomingHttpHeaders } from 'node:http'
import { header } from './http.js'
import { parseSeconds, rateLimitResetMs } from './retry.js'

export type Sleep = (ms: number, signal: AbortSignal) => Promise<boolean>

// Pace a little under the announced rate, so that timing noise between
// here and the server does not tip a window over its limit.
const PACING_MARGIN = 1.03

/**
 * One gate shared by every worker of a batch: a 429 or a spent window
 * pauses all of them until the announced reset, and when the work left is
 * more than the window allows, requests are spaced at the announced rate
 * instead of running into the limit.
 */
export class RateGate {
  private pausedUntil = 0
  private nextSlot = 0
  private spacingMs = 0
  private queued = 0
  private readonly now: () => number
  private readonly sleep: Sleep

  constructor(now: () => number, sleep: Sleep) {
    this.now = now
    this.sleep = sleep
  }

  /** Requests waiting for their turn: work not yet sent, like the uploads not yet taken. */
  get waiting(): number {
    return this.queued
  }

  /** Waits for this worker's turn; false when the signal fired first. */
  async acquire(signal: AbortSignal): Promise<boolean> {
    this.queued++
    try {
      for (;;) {
        const now = this.now()
        const wait = Math.max(this.pausedUntil, this.nextSlot) - now
        if (wait <= 0) {
          this.nextSlot = Math.max(this.nextSlot, now) + this.spacingMs
          return true
        }
        if (!(await this.sleep(wait, signal))) return false
      }
    } finally {
      this.queued--
    }
  }

  pauseUntil(timeMs: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, timeMs)
  }

  /** Learns from an answer's X-RateLimit-* headers; `pending` is the work not yet sent. */
  observe(headers: IncomingHttpHeaders, pending: number): void {
    const now = this.now()
    const remaining = parseSeconds(header(headers, 'x-ratelimit-remaining'))
    const limit = parseSeconds(header(headers, 'x-ratelimit-limit'))
    const period = parseSeconds(header(headers, 'x-ratelimit-period'))
    const resetMs = rateLimitResetMs(headers, now)
    if (remaining === undefined) return
    if (remaining <= 0 && resetMs !== undefined) this.pauseUntil(now + resetMs)
    this.spacingMs = pending > remaining && limit && period ? ((period * 1000) / limit) * PACING_MARGIN : 0
  }
}
