// Datadog's rate limit as the emulator applies it to API calls. Windows are
// calendar aligned, as Datadog documents: they start at multiples of the
// period since the Unix epoch, not at the moment the limit was set.
import type { RateLimit } from './types.ts'

export interface RateLimitDecision {
  allowed: boolean
  headers: Record<string, string>
}

export class RateLimiter {
  /** Calls refused since the emulator started, across changes of the limit. */
  refused = 0
  private limit: RateLimit | undefined
  // NaN until the first call: no window has been counted in yet.
  private windowIndex = Number.NaN
  private used = 0
  private readonly now: () => number

  constructor(limit: RateLimit | undefined, now: () => number = Date.now) {
    this.limit = limit
    this.now = now
  }

  /** A new limit starts with nothing used in the current window. */
  set(limit: RateLimit | undefined): void {
    this.limit = limit
    this.windowIndex = Number.NaN
  }

  consume(): RateLimitDecision {
    if (!this.limit) return { allowed: true, headers: {} }
    const periodMs = this.limit.periodSeconds * 1000
    const now = this.now()
    const index = Math.floor(now / periodMs)
    if (index !== this.windowIndex) {
      this.windowIndex = index
      this.used = 0
    }
    const allowed = this.used < this.limit.limit
    if (allowed) this.used++
    else this.refused++
    // Rounded up, so that a client waiting Reset seconds never arrives before the window turns.
    const reset = Math.ceil(((index + 1) * periodMs - now) / 1000)
    return {
      allowed,
      headers: {
        'X-RateLimit-Limit': String(this.limit.limit),
        'X-RateLimit-Period': String(this.limit.periodSeconds),
        'X-RateLimit-Remaining': String(this.limit.limit - this.used),
        'X-RateLimit-Reset': String(reset),
        'X-RateLimit-Name': this.limit.name ?? 'synthetics_files'
      }
    }
  }
}
