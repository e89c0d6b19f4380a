import { describe, expect, test } from '@jest/globals'
import type { IncomingHttpHeaders } from 'node:http'
import { RateGate, type Turn } from '../src/abort/rate-gate.js'

const START = 1_700_000_000_000

function fakeClock() {
  let t = START
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
    advance: (ms: number): void => {
      t += ms
    },
    elapsed: (): number => t - START,
    sleeps,
    cancelSleeps: (): void => {
      refuse = true
    }
  }
}

const open = new AbortController().signal

function gateOn(clock: ReturnType<typeof fakeClock>, deadlineMs = 120_000): RateGate {
  return new RateGate({ now: clock.now, sleep: clock.sleep, deadline: START + deadlineMs })
}

function ticketOf(turn: Turn): number {
  if (turn.kind !== 'go') throw new Error(`expected a turn, got ${JSON.stringify(turn)}`)
  return turn.ticket
}

/** Datadog's headers for a window of `limit` with `remaining` left and `reset` seconds to go. */
const window = (limit: number, remaining: number, reset: number, extra: IncomingHttpHeaders = {}) => ({
  status: 204,
  headers: {
    'x-ratelimit-limit': String(limit),
    'x-ratelimit-period': '1',
    'x-ratelimit-remaining': String(remaining),
    'x-ratelimit-reset': String(reset),
    ...extra
  }
})

describe('RateGate', () => {
  test('a fresh gate, and answers without rate-limit headers, let work through at once', async () => {
    const clock = fakeClock()
    const gate = gateOn(clock)
    for (let i = 0; i < 5; i++) gate.settle(ticketOf(await gate.acquire(open)), { status: 204, headers: {} })
    expect(clock.sleeps).toEqual([])
  })

  test('the window is spent in one burst, then everyone waits for the announced reset, then bursts again', async () => {
    const clock = fakeClock()
    const gate = gateOn(clock)
    gate.settle(ticketOf(await gate.acquire(open)), window(10, 9, 1))
    // Nine more go at once: no pacing at the average rate.
    const burst: number[] = []
    for (let i = 0; i < 9; i++) burst.push(ticketOf(await gate.acquire(open)))
    expect(clock.elapsed()).toBe(0)
    clock.advance(25)
    for (const [i, ticket] of burst.entries()) gate.settle(ticket, window(10, 8 - i, 1))
    // The eleventh waits for the reset the first answer vouched for, and no longer.
    ticketOf(await gate.acquire(open))
    expect(clock.elapsed()).toBe(1000)
    for (let i = 0; i < 9; i++) ticketOf(await gate.acquire(open))
    expect(clock.elapsed()).toBe(1000)
  })

  test('a 429 holds everyone until its reset, whatever X-RateLimit-Remaining says', async () => {
    const clock = fakeClock()
    const gate = gateOn(clock)
    gate.settle(ticketOf(await gate.acquire(open)), { status: 429, headers: window(10, 5, 3).headers })
    ticketOf(await gate.acquire(open))
    expect(clock.elapsed()).toBe(3000)
  })

  test('a 429 with only Retry-After holds everyone that long', async () => {
    const clock = fakeClock()
    const gate = gateOn(clock)
    gate.settle(ticketOf(await gate.acquire(open)), { status: 429, headers: { 'retry-after': '2' } })
    ticketOf(await gate.acquire(open))
    expect(clock.elapsed()).toBe(2000)
  })

  test('an answer overtaken by a later one does not raise the budget back', async () => {
    const clock = fakeClock()
    const gate = gateOn(clock)
    gate.settle(ticketOf(await gate.acquire(open)), window(3, 2, 5))
    const a = ticketOf(await gate.acquire(open))
    const b = ticketOf(await gate.acquire(open))
    gate.settle(b, window(3, 0, 5))
    gate.settle(a, window(3, 1, 5))
    ticketOf(await gate.acquire(open))
    expect(clock.elapsed()).toBe(5000)
  })

  test("an answer from the last window does not cut the new window's budget", async () => {
    const clock = fakeClock()
    const gate = gateOn(clock)
    gate.settle(ticketOf(await gate.acquire(open)), window(2, 1, 1))
    const late = ticketOf(await gate.acquire(open))
    // Spent, one answer still out: the next waits for the reset, and the
    // answer comes only after the new window has begun.
    ticketOf(await gate.acquire(open))
    expect(clock.elapsed()).toBe(1000)
    gate.settle(late, window(2, 0, 1))
    ticketOf(await gate.acquire(open))
    expect(clock.elapsed()).toBe(1000)
  })

  test("answers from the server's next window replace the last window's reset, so no window is overspent", async () => {
    const clock = fakeClock()
    const gate = gateOn(clock)
    // Window A: the first answer vouches for a reset at 1 s.
    gate.settle(ticketOf(await gate.acquire(open)), window(10, 9, 1))
    const burst: number[] = []
    for (let i = 0; i < 9; i++) burst.push(ticketOf(await gate.acquire(open)))
    // The burst reached the server after its window turned: window B counts it.
    clock.advance(300)
    for (const [i, ticket] of burst.entries()) gate.settle(ticket, window(10, 9 - i, 1))
    // One left in B; then the wait is B's reset (1.3 s), not A's (1 s).
    ticketOf(await gate.acquire(open))
    expect(clock.elapsed()).toBe(300)
    ticketOf(await gate.acquire(open))
    expect(clock.elapsed()).toBe(1300)
  })

  test('once the reset has passed on its own, the budget is whole again', async () => {
    const clock = fakeClock()
    const gate = gateOn(clock)
    gate.settle(ticketOf(await gate.acquire(open)), window(4, 3, 2))
    for (let i = 0; i < 2; i++) ticketOf(await gate.acquire(open))
    clock.advance(2500)
    for (let i = 0; i < 4; i++) ticketOf(await gate.acquire(open))
    expect(clock.sleeps).toEqual([])
  })

  test('a spent window whose reset is unknown waits for the answer in flight', async () => {
    const clock = fakeClock()
    const gate = gateOn(clock)
    gate.settle(ticketOf(await gate.acquire(open)), { status: 204, headers: { 'x-ratelimit-remaining': '1' } })
    const last = ticketOf(await gate.acquire(open))
    let granted = false
    const waiting = gate.acquire(open).then(turn => {
      granted = true
      return turn
    })
    await Promise.resolve()
    expect(granted).toBe(false)
    gate.settle(last, { status: 204, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '4' } })
    ticketOf(await waiting)
    expect(clock.elapsed()).toBe(4000)
  })

  test('with nothing in flight and no reset known, one request goes to find out', async () => {
    const clock = fakeClock()
    const gate = gateOn(clock)
    gate.settle(ticketOf(await gate.acquire(open)), { status: 204, headers: { 'x-ratelimit-remaining': '0' } })
    ticketOf(await gate.acquire(open))
    expect(clock.sleeps).toEqual([])
  })

  test.each([
    ['a reset past the deadline on a 2xx', '3000', '3000.0 s'],
    ['a reset of 31 years', '978307200', '978307200.0 s'],
    ['a reset of 10^12 s', '999999999999', '999999999999.0 s']
  ])('%s holds the rest back at once, naming the reset and the limit', async (_name, reset, shown) => {
    const clock = fakeClock()
    const gate = gateOn(clock, 5000)
    gate.settle(
      ticketOf(await gate.acquire(open)),
      window(10, 0, Number(reset), { 'x-ratelimit-name': 'synthetics_files' })
    )
    expect(await gate.acquire(open)).toEqual({
      kind: 'held',
      reason: `Datadog's rate limit "synthetics_files" resets in ${shown} (X-RateLimit-Reset), after the step's timeout`
    })
    expect(clock.sleeps).toEqual([])
  })

  test('acquire stops when the wait is cancelled', async () => {
    const clock = fakeClock()
    const gate = gateOn(clock)
    gate.settle(ticketOf(await gate.acquire(open)), window(1, 0, 60))
    const controller = new AbortController()
    controller.abort('cancelled')
    expect(await gate.acquire(controller.signal)).toEqual({ kind: 'stopped' })
    clock.cancelSleeps()
    expect(await gate.acquire(open)).toEqual({ kind: 'stopped' })
  })
})
