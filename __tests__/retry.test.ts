import { describe, expect, test } from '@jest/globals'
import type { IncomingHttpHeaders } from 'node:http'
import type { Sent } from '../src/transport/sent.js'
import { classify, DEFAULT_POLICY, retryDelay } from '../src/abort/retry.js'

const answer = (status: number, incomplete = false): Sent => ({
  kind: 'reply',
  status,
  headers: {},
  body: '',
  truncated: false,
  incomplete
})
const failure = (kind: 'network' | 'timeout' | 'cancelled', code: string, requestSent: boolean): Sent => ({
  kind,
  code,
  message: code,
  requestSent
})

describe('classify', () => {
  test.each([200, 202, 204])('%d is done', status => {
    expect(classify(answer(status))).toEqual({ retry: false, outcomeUnknown: false })
  })

  test.each([400, 401, 403, 404, 405, 409, 413])('%d is a considered refusal: no retry', status => {
    expect(classify(answer(status))).toEqual({ retry: false, outcomeUnknown: false })
  })

  test('429 is retried, and the abort certainly did not happen', () => {
    expect(classify(answer(429))).toEqual({ retry: true, outcomeUnknown: false })
  })

  test.each([500, 502, 503, 504])('%d is retried, and the server may have acted', status => {
    expect(classify(answer(status))).toEqual({ retry: true, outcomeUnknown: true })
  })

  test('a 4xx whose body broke off is still not retried', () => {
    expect(classify(answer(403, true)).retry).toBe(false)
  })

  test('a network failure before the request was sent is retried; the abort did not happen', () => {
    expect(classify(failure('network', 'ECONNREFUSED', false))).toEqual({ retry: true, outcomeUnknown: false })
  })

  test('a network failure after the request was sent is retried; the abort may have happened', () => {
    expect(classify(failure('network', 'ECONNRESET', true))).toEqual({ retry: true, outcomeUnknown: true })
    expect(classify(failure('timeout', 'idle', true))).toEqual({ retry: true, outcomeUnknown: true })
  })

  test.each([
    'CERT_HAS_EXPIRED',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'ERR_TLS_CERT_ALTNAME_INVALID',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    // An https:// URL on a plain-HTTP port fails the same way every time.
    'ERR_SSL_WRONG_VERSION_NUMBER'
  ])('TLS failure %s is not retried', code => {
    expect(classify(failure('network', code, false)).retry).toBe(false)
  })
})

describe('retryDelay', () => {
  const NOW = Date.UTC(2025, 0, 1, 12, 0, 0)
  const policy = { baseDelayMs: 500, maxDelayMs: 60_000 }
  const half = (): number => 0.5
  const tooMany = (headers: IncomingHttpHeaders) => ({ status: 429, headers })

  test('X-RateLimit-Reset in seconds is waited for', () => {
    expect(retryDelay(1, tooMany({ 'x-ratelimit-reset': '7' }), { nowMs: NOW, random: half }, policy)).toMatchObject({
      ms: 7000,
      source: 'x-ratelimit-reset'
    })
    expect(retryDelay(1, tooMany({ 'x-ratelimit-reset': ' 0.25 ' }), { nowMs: NOW, random: half }, policy).ms).toBe(250)
  })

  test('X-RateLimit-Reset is a countdown however large: no Datadog source sends a Unix time', () => {
    const delay = retryDelay(1, tooMany({ 'x-ratelimit-reset': '1700000000' }), { nowMs: NOW, random: half }, policy)
    expect(delay).toMatchObject({ ms: 60_000, wantedMs: 1_700_000_000_000, source: 'x-ratelimit-reset' })
  })

  test('a 429 waits for X-RateLimit-Reset even when X-RateLimit-Remaining says budget is left', () => {
    const headers = { 'x-ratelimit-remaining': '12', 'x-ratelimit-reset': '4' }
    expect(retryDelay(1, tooMany(headers), { nowMs: NOW, random: half }, policy)).toMatchObject({
      ms: 4000,
      source: 'x-ratelimit-reset'
    })
    // A 503 with budget left is not a rate limit: backoff.
    expect(retryDelay(1, { status: 503, headers }, { nowMs: NOW, random: half }, policy).source).toBe('backoff')
  })

  test('absurd values (31 years, 10^12 s, negative, NaN) are never waited for beyond the cap', () => {
    for (const value of ['978307200', '999999999999', '-5', 'NaN', '1e12', 'Infinity']) {
      const { ms } = retryDelay(1, tooMany({ 'x-ratelimit-reset': value }), { nowMs: NOW, random: half }, policy)
      expect(ms).toBeGreaterThanOrEqual(0)
      expect(ms).toBeLessThanOrEqual(policy.maxDelayMs)
    }
  })

  test('a reset far past any deadline keeps its real length in wantedMs, while the wait itself is capped', () => {
    const delay = retryDelay(1, tooMany({ 'x-ratelimit-reset': '100000' }), { nowMs: NOW, random: half }, policy)
    expect(delay.ms).toBe(policy.maxDelayMs)
    expect(delay.wantedMs).toBe(100_000_000)
  })

  test('Retry-After in seconds', () => {
    expect(retryDelay(1, tooMany({ 'retry-after': '3' }), { nowMs: NOW, random: half }, policy)).toMatchObject({
      ms: 3000,
      source: 'retry-after'
    })
  })

  test('Retry-After as an HTTP date', () => {
    const date = new Date(NOW + 9000).toUTCString()
    expect(retryDelay(1, tooMany({ 'retry-after': date }), { nowMs: NOW, random: half }, policy)).toMatchObject({
      ms: 9000,
      source: 'retry-after'
    })
    const past = new Date(NOW - 9000).toUTCString()
    expect(retryDelay(1, tooMany({ 'retry-after': past }), { nowMs: NOW, random: half }, policy).ms).toBe(0)
  })

  test('X-RateLimit-Reset wins over Retry-After', () => {
    expect(
      retryDelay(1, tooMany({ 'x-ratelimit-reset': '2', 'retry-after': '30' }), { nowMs: NOW, random: half }, policy)
        .source
    ).toBe('x-ratelimit-reset')
  })

  test('unusable headers fall through to backoff', () => {
    for (const headers of [
      { 'x-ratelimit-reset': 'soon' },
      { 'retry-after': 'later' },
      { 'x-ratelimit-reset': '-5' },
      {},
      undefined
    ]) {
      expect(retryDelay(1, headers && tooMany(headers), { nowMs: NOW, random: half }, policy).source).toBe('backoff')
    }
  })

  test('backoff: full jitter under base·2^(n-1), from random', () => {
    for (let retry = 1; retry <= 6; retry++) {
      const ceiling = 500 * 2 ** (retry - 1)
      expect(retryDelay(retry, undefined, { nowMs: NOW, random: () => 0 }, policy).ms).toBe(0)
      expect(retryDelay(retry, undefined, { nowMs: NOW, random: half }, policy).ms).toBe(ceiling / 2)
      const top = retryDelay(retry, undefined, { nowMs: NOW, random: () => 0.999999 }, policy).ms
      expect(top).toBeLessThanOrEqual(ceiling)
      expect(top).toBeGreaterThan(ceiling * 0.99)
    }
  })

  test('backoff never passes maxDelayMs, even after many retries', () => {
    for (const retry of [8, 20, 100, 10_000]) {
      const { ms, source } = retryDelay(retry, tooMany({}), { nowMs: NOW, random: () => 0.999999 }, policy)
      expect(source).toBe('backoff')
      expect(ms).toBeLessThanOrEqual(policy.maxDelayMs)
      expect(ms).toBeGreaterThan(policy.maxDelayMs * 0.99)
    }
  })

  test('server-given waits are capped at maxDelayMs', () => {
    expect(retryDelay(1, tooMany({ 'x-ratelimit-reset': '3600' }), { nowMs: NOW, random: half }, policy).ms).toBe(
      60_000
    )
    expect(retryDelay(1, tooMany({ 'retry-after': '999999' }), { nowMs: NOW, random: half }, policy).ms).toBe(60_000)
    expect(
      retryDelay(
        1,
        tooMany({ 'retry-after': new Date(NOW + 86_400_000).toUTCString() }),
        { nowMs: NOW, random: half },
        policy
      ).ms
    ).toBe(60_000)
  })

  test('the default policy has a sane base and cap', () => {
    expect(DEFAULT_POLICY.baseDelayMs).toBeGreaterThan(0)
    expect(DEFAULT_POLICY.maxDelayMs).toBeGreaterThanOrEqual(DEFAULT_POLICY.baseDelayMs)
  })
})
