// The emulator's rate limiter on its own, with a clock the test moves.
import { RateLimiter } from '../emulator/ratelimit.ts'

let now = 0
const clock = (): number => now
// 12:00:42.250 UTC: 42.25 s into a minute, 0.25 s into a second.
const MID_MINUTE = Date.UTC(2026, 10, 25, 12, 0, 42, 250)

const headersOf = (limiter: RateLimiter) => {
  const { allowed, headers } = limiter.consume()
  return { allowed, remaining: headers['X-RateLimit-Remaining'], reset: headers['X-RateLimit-Reset'] }
}

test('windows start at multiples of the period since the epoch, not when the limit was set', () => {
  now = MID_MINUTE
  const limiter = new RateLimiter({ limit: 2, periodSeconds: 60 }, clock)
  expect(limiter.consume()).toEqual({
    allowed: true,
    headers: {
      'X-RateLimit-Limit': '2',
      'X-RateLimit-Period': '60',
      'X-RateLimit-Remaining': '1',
      'X-RateLimit-Reset': '18',
      'X-RateLimit-Name': 'synthetics_files'
    }
  })
  now = Date.UTC(2026, 10, 25, 12, 0, 59, 250)
  expect(headersOf(limiter)).toEqual({ allowed: true, remaining: '0', reset: '1' })
  expect(headersOf(limiter)).toEqual({ allowed: false, remaining: '0', reset: '1' })
  now = Date.UTC(2026, 10, 25, 12, 1, 0, 0)
  expect(headersOf(limiter)).toEqual({ allowed: true, remaining: '1', reset: '60' })
  expect(limiter.refused).toBe(1)
})

test.each([
  [1, 1, '1'],
  [1, 999, '1'],
  [10, 1, '10'],
  [10, 8999, '2'],
  [10, 9000, '1'],
  [10, 9999, '1'],
  [3600, 0, '3600']
])('a %d s period, %d ms into its window: Reset is %s, rounded up', (periodSeconds, intoWindow, reset) => {
  now = 1_800_000_000_000 + intoWindow
  const limiter = new RateLimiter({ limit: 5, periodSeconds }, clock)
  expect(headersOf(limiter).reset).toBe(reset)
})

test('a new limit starts with nothing used in the current window; refusals are counted across limits', () => {
  now = MID_MINUTE
  const limiter = new RateLimiter({ limit: 1, periodSeconds: 1, name: 'first' }, clock)
  limiter.consume()
  expect(headersOf(limiter).allowed).toBe(false)
  limiter.set({ limit: 1, periodSeconds: 1, name: 'second' })
  const { allowed, headers } = limiter.consume()
  expect([allowed, headers['X-RateLimit-Name'], headers['X-RateLimit-Reset']]).toEqual([true, 'second', '1'])
  expect(headersOf(limiter).allowed).toBe(false)
  expect(limiter.refused).toBe(2)
})

test('without a limit every call is allowed and no header is sent', () => {
  const limiter = new RateLimiter(undefined, clock)
  expect(limiter.consume()).toEqual({ allowed: true, headers: {} })
  limiter.set(undefined)
  expect(limiter.consume()).toEqual({ allowed: true, headers: {} })
})
