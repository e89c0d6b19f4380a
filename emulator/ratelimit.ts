// Datadog's rate limit as the emulator applies it to API calls.
import type { RateLimit } from './types.ts'

export interface RateLimitDecision {
  allowed: boolean
  headers: Record<string, string>
}

export class RateLimiter {
  /** Calls refused since the emulator started, across changes of the limit. */
  refused = 0
  private limit: RateLimit | undefined
  private windowStart: number
  private windowIndex = 0
  private used = 0
  private readonly now: () => number

  constructor(limit: RateLimit | undefined, now: () => number = Date.now) {
    this.limit = limit
    this.now = now
    this.windowStart = now()
  }

  /** A new limit starts a window of its own, with nothing used. */
  set(limit: RateLimit | undefined): void {
    this.limit = limit
    this.windowStart = this.now()
    this.windowIndex = 0
    this.used = 0
  }

  // Windows are counted from a fixed origin so that X-RateLimit-Reset, rounded
  // up to whole seconds, never promises a reset earlier than the real one.
  consume(): RateLimitDecision {
    if (!this.limit) return { allowed: true, headers: {} }
    const periodMs = this.limit.periodSeconds * 1000
    const now = this.now()
    const index = Math.floor((now - this.windowStart) / periodMs)
    if (index !== this.windowIndex) {
      this.windowIndex = index
      this.used = 0
    }
    const allowed = this.used < this.limit.limit
    if (allowed) this.used++
    else this.refused++
    const msLeft = this.windowStart + (index + 1) * periodMs - now
    return {
      allowed,
      headers: {
        'X-RateLimit-Limit': String(this.limit.limit),
        'X-RateLimit-Period': String(this.limit.periodSeconds),
        'X-RateLimit-Remaining': String(this.limit.limit - this.used),
        'X-RateLimit-Reset': String(Math.max(1, Math.ceil(msLeft / 1000))),
        'X-RateLimit-Name': this.limit.name ?? 'synthetics_files'
      }
    }
  }
}
