import { describe, expect, test } from '@jest/globals'
import { RateGate } from '../src/ratelimit.js'

function fakeClock(start = 1_700_000_000_000) {
  let t = start
  const sleeps: number[] = []
  let refuse = false
  return {
    now: (): number => t,
    sleep: async (ms: number, signal: AbortSignal): Promise<boolean> => {
      if (refuse || signal.aborted) return false
      sleeps.push(ms)
      t += ms
      return true
    },
    elapsed: (): number => t - start,
    sleeps,
    cancelSleeps: (): void => {
      refuse = true
    }
  }
}

const open = new AbortController().signal

describe('RateGate', () => {
  test('a fresh gate lets work through at once', async () => {
    const clock = fakeClock()
    const gate = new RateGate(clock.now, clock.sleep)
    for (let i = 0; i < 5; i++) expect(await gate.acquire(open)).toBe(true)
    expect(clock.sleeps).toEqual([])
  })

  test('a spent window (Remaining 0) pauses everyone until the reset', async () => {
    const clock = fakeClock()
    const gate = new RateGate(clock.now, clock.sleep)
    gate.observe({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '7' }, 1)
    expect(await gate.acquire(open)).toBe(true)
    expect(clock.elapsed()).toBe(7000)
    // Once the reset has passed, the next worker is not held again.
    expect(await gate.acquire(open)).toBe(true)
    expect(clock.elapsed()).toBe(7000)
  })

  test('a reset given as a Unix timestamp pauses until that time', async () => {
    const clock = fakeClock(1_700_000_000_000)
    const gate = new RateGate(clock.now, clock.sleep)
    gate.observe({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(1_700_000_000 + 4) }, 1)
    await gate.acquire(open)
    expect(clock.elapsed()).toBe(4000)
  })

  test('Remaining above 0 does not pause', async () => {
    const clock = fakeClock()
    const gate = new RateGate(clock.now, clock.sleep)
    gate.observe({ 'x-ratelimit-remaining': '3', 'x-ratelimit-reset': '50' }, 1)
    await gate.acquire(open)
    expect(clock.elapsed()).toBe(0)
  })

  test('pauseUntil holds work until then, and a shorter pause does not cut a longer one', async () => {
    const clock = fakeClock()
    const gate = new RateGate(clock.now, clock.sleep)
    gate.pauseUntil(clock.now() + 5000)
    gate.pauseUntil(clock.now() + 1000)
    expect(await gate.acquire(open)).toBe(true)
    expect(clock.elapsed()).toBe(5000)
  })

  test('more work pending than the window allows is paced at the announced rate', async () => {
    const clock = fakeClock()
    const gate = new RateGate(clock.now, clock.sleep)
    // 60 requests per 60 s: one a second, 2 left, 10 to go.
    gate.observe(
      {
        'x-ratelimit-remaining': '2',
        'x-ratelimit-limit': '60',
        'x-ratelimit-period': '60',
        'x-ratelimit-reset': '30'
      },
      10
    )
    const times: number[] = []
    for (let i = 0; i < 4; i++) {
      await gate.acquire(open)
      times.push(clock.elapsed())
    }
    expect(times[0]).toBe(0)
    for (let i = 1; i < times.length; i++) {
      const gap = (times[i] ?? 0) - (times[i - 1] ?? 0)
      expect(gap).toBeGreaterThanOrEqual(1000)
      expect(gap).toBeLessThanOrEqual(1100)
    }
  })

  test('no pacing when the work left fits in the remaining budget', async () => {
    const clock = fakeClock()
    const gate = new RateGate(clock.now, clock.sleep)
    gate.observe({ 'x-ratelimit-remaining': '50', 'x-ratelimit-limit': '60', 'x-ratelimit-period': '60' }, 10)
    for (let i = 0; i < 10; i++) await gate.acquire(open)
    expect(clock.elapsed()).toBe(0)
  })

  test('pacing stops once an answer shows enough budget again', async () => {
    const clock = fakeClock()
    const gate = new RateGate(clock.now, clock.sleep)
    gate.observe({ 'x-ratelimit-remaining': '1', 'x-ratelimit-limit': '10', 'x-ratelimit-period': '10' }, 5)
    await gate.acquire(open)
    gate.observe({ 'x-ratelimit-remaining': '10', 'x-ratelimit-limit': '10', 'x-ratelimit-period': '10' }, 5)
    const before = clock.elapsed()
    await gate.acquire(open)
    // The slot already booked is honoured; the ones after are not spaced.
    const afterFirst = clock.elapsed()
    await gate.acquire(open)
    await gate.acquire(open)
    expect(clock.elapsed()).toBe(afterFirst)
    expect(afterFirst - before).toBeLessThanOrEqual(1100)
  })

  test('answers without rate-limit headers change nothing', async () => {
    const clock = fakeClock()
    const gate = new RateGate(clock.now, clock.sleep)
    gate.observe({}, 100)
    gate.observe({ 'x-ratelimit-remaining': 'many' }, 100)
    for (let i = 0; i < 3; i++) await gate.acquire(open)
    expect(clock.elapsed()).toBe(0)
  })

  test('acquire gives up (false) when the wait is cancelled', async () => {
    const clock = fakeClock()
    const gate = new RateGate(clock.now, clock.sleep)
    gate.pauseUntil(clock.now() + 60_000)
    const controller = new AbortController()
    controller.abort('cancelled')
    expect(await gate.acquire(controller.signal)).toBe(false)
    clock.cancelSleeps()
    expect(await gate.acquire(open)).toBe(false)
  })
})
