import { describe, expect, test } from '@jest/globals'
import type { IncomingHttpHeaders } from 'node:http'
import { createRedactor } from '../src/text/redact.js'
import { abortUpload, type AbortContext, type AbortDeps } from '../src/abort/upload.js'
import { RateGate } from '../src/abort/rate-gate.js'
import type { Outgoing, Sent, SendOptions } from '../src/transport/sent.js'
import type { Upload } from '../src/settings/settings.js'

const API_KEY = '0123456789abcdef0123456789abcdef'
const APP_KEY = 'fedcba9876543210fedcba9876543210fedcba98'
const TOKEN = 'ddpat_Xq7vN2mK9pL4rT8wZ3bH6cY1fJ5dG0eA'
const START = 1_700_000_000_000
const upload: Upload = {
  testId: 'abc-def-123',
  key: 'org-123/api-upload-file/abc-def-123/2024-01-01T00:00:00_uuid.json',
  uploadId: 'upload-id-abc123'
}

type Step = Sent | ((request: Outgoing, options: SendOptions) => Sent)

const answer = (status: number, body = '', headers: IncomingHttpHeaders = {}): Sent => ({
  kind: 'reply',
  status,
  headers,
  body,
  truncated: false,
  incomplete: false
})
const networkFailure = (code: string, requestSent: boolean, message = `failed (${code})`): Sent => ({
  kind: 'network',
  code,
  message,
  requestSent
})

/** A fake clock, a scripted server and a log, wired as abortUpload's deps. */
function harness(script: Step[], options: { random?: number } = {}) {
  let t = START
  const requests: Outgoing[] = []
  const sleeps: number[] = []
  const log: string[] = []
  const steps = [...script]
  const deps: AbortDeps = {
    now: () => t,
    random: () => options.random ?? 0.5,
    sleep: async (ms, signal) => {
      if (signal.aborted) return false
      sleeps.push(ms)
      t += ms
      return !signal.aborted
    },
    send: async (request, sendOptions) => {
      requests.push(request)
      if (sendOptions.signal.aborted) {
        return { kind: 'cancelled', code: 'cancelled', message: 'the step was cancelled', requestSent: false }
      }
      const step = steps.shift()
      if (step === undefined) throw new Error('the script ran out: more requests were sent than expected')
      t += 20
      return typeof step === 'function' ? step(request, sendOptions) : step
    },
    // As the shell's: every secret the step holds.
    redact: createRedactor([API_KEY, APP_KEY, TOKEN]).redact,
    log: line => log.push(line)
  }
  return { deps, requests, sleeps, log, remaining: () => steps.length }
}

function context(overrides: Partial<AbortContext> = {}): AbortContext {
  return {
    baseUrl: 'https://api.datadoghq.com',
    credentials: { kind: 'keys', apiKey: API_KEY, appKey: APP_KEY },
    siteLabel: 'datadoghq.com (US1)',
    maxRetries: 5,
    ignoreNotFound: false,
    deadline: START + 120_000,
    signal: new AbortController().signal,
    ...overrides
  }
}

describe('abortUpload', () => {
  test('204: aborted in one attempt, with the documented request', async () => {
    const h = harness([answer(204)])
    const r = await abortUpload(upload, context(), h.deps)
    expect(r.outcome).toBe('aborted')
    expect(r.status).toBe(204)
    expect(r.attempts).toBe(1)
    expect(r.errors).toEqual([])
    expect(r.message).toContain(upload.uploadId)
    expect(r.message).toContain(upload.testId)
    expect(r.message).toContain('datadoghq.com (US1)')
    expect(h.requests).toHaveLength(1)
    expect(h.requests[0]?.url).toBe(
      'https://api.datadoghq.com/api/v2/synthetics/tests/abc-def-123/files/multipart-upload-abort'
    )
    expect(JSON.parse(h.requests[0]?.body ?? '')).toEqual({ key: upload.key, uploadId: upload.uploadId })
    expect(h.log).toEqual([])
  })

  test("404 fails by default, with Datadog's message and a hint", async () => {
    const h = harness([answer(404, '{"errors":["Upload not found"]}', { 'content-type': 'application/json' })])
    const r = await abortUpload(upload, context(), h.deps)
    expect(r.outcome).toBe('failed')
    expect(r.kind).toBe('http')
    expect(r.status).toBe(404)
    expect(r.attempts).toBe(1)
    expect(r.errors).toEqual(['Upload not found'])
    expect(r.message).toMatch(/404 Not Found/)
    expect(r.hint).toMatch(/ignore-not-found/)
  })

  test('404 with ignore-not-found is "not-found" with a warning, not a failure', async () => {
    const h = harness([answer(404, '{"errors":["Upload not found"]}')])
    const r = await abortUpload(upload, context({ ignoreNotFound: true }), h.deps)
    expect(r.outcome).toBe('not-found')
    expect(r.status).toBe(404)
    expect(r.attempts).toBe(1)
    expect(r.warning).toMatch(/not found/)
    expect(r.warning).toContain('Upload not found')
  })

  test('503 then 204: aborted on the second attempt, one log line for the retry', async () => {
    const h = harness([answer(503), answer(204)])
    const r = await abortUpload(upload, context(), h.deps)
    expect(r.outcome).toBe('aborted')
    expect(r.status).toBe(204)
    expect(r.attempts).toBe(2)
    expect(h.sleeps).toEqual([250]) // random 0.5 × base 500 ms
    expect(h.log).toHaveLength(1)
    expect(h.log[0]).toMatch(/Attempt 1 of 6/)
    expect(h.log[0]).toContain('503 Service Unavailable')
    expect(h.log[0]).toContain('250 ms')
    expect(h.log[0]).toContain(upload.uploadId)
  })

  test('each retry waits longer (exponential backoff)', async () => {
    const h = harness([answer(500), answer(502), answer(504), answer(204)], { random: 0.999 })
    const r = await abortUpload(upload, context(), h.deps)
    expect(r.attempts).toBe(4)
    expect(h.sleeps).toHaveLength(3)
    expect(h.sleeps[0]).toBeLessThanOrEqual(500)
    expect(h.sleeps[1]).toBeGreaterThan(500)
    expect(h.sleeps[1]).toBeLessThanOrEqual(1000)
    expect(h.sleeps[2]).toBeGreaterThan(1000)
    expect(h.sleeps[2]).toBeLessThanOrEqual(2000)
    expect(h.log.map(l => /Attempt (\d+)/.exec(l)?.[1])).toEqual(['1', '2', '3'])
  })

  test('a lost answer (network failure after sending) then 404 is unconfirmed, not aborted, and fails', async () => {
    const h = harness([networkFailure('ECONNRESET', true, 'connection reset (ECONNRESET)'), answer(404)])
    const r = await abortUpload(upload, context(), h.deps)
    expect(r.outcome).toBe('unconfirmed')
    expect(r.tolerated).toBeUndefined()
    expect(r.status).toBe(404)
    expect(r.attempts).toBe(2)
    expect(r.message).toMatch(/not confirmed aborted/)
    expect(r.message).toMatch(/Either that attempt aborted it, or "key", "upload-id", the test or the site never named/)
    expect(r.errors).toEqual(['404 Not Found after an attempt whose answer was lost'])
    expect(r.hint).toMatch(/ignore-not-found/)
    expect(h.log[0]).toContain('connection reset')
  })

  test('a 503 then 404 with ignore-not-found is unconfirmed and tolerated, with a warning', async () => {
    const h = harness([answer(503), answer(404, '{"errors":["Upload not found"]}')])
    const r = await abortUpload(upload, context({ ignoreNotFound: true }), h.deps)
    expect(r.outcome).toBe('unconfirmed')
    expect(r.tolerated).toBe(true)
    expect(r.attempts).toBe(2)
    expect(r.errors).toEqual(['Upload not found'])
    expect(r.warning).toMatch(/not confirmed aborted \(404 after a lost answer\); a 404 is accepted here/)
  })

  test('a failure before sending then 404 is still a 404 failure: nothing was aborted', async () => {
    const h = harness([networkFailure('ECONNREFUSED', false), answer(404)])
    const r = await abortUpload(upload, context(), h.deps)
    expect(r.outcome).toBe('failed')
    expect(r.status).toBe(404)
  })

  test('a slow attempt (timeout) is retried', async () => {
    const h = harness([{ kind: 'timeout', code: 'idle', message: 'no data for 30 s', requestSent: false }, answer(204)])
    const r = await abortUpload(upload, context(), h.deps)
    expect(r.outcome).toBe('aborted')
    expect(r.attempts).toBe(2)
  })

  test('429 waits for X-RateLimit-Reset', async () => {
    const h = harness([
      answer(429, '{"errors":["Rate limit exceeded"]}', { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '3' }),
      answer(204)
    ])
    const r = await abortUpload(upload, context(), h.deps)
    expect(r.outcome).toBe('aborted')
    expect(r.attempts).toBe(2)
    expect(h.sleeps).toEqual([3000])
    expect(h.log[0]).toMatch(/429/)
    expect(h.log[0]).toMatch(/3\.0 s/)
    expect(h.log[0]).toMatch(/x-ratelimit-reset/)
  })

  test('429 waits for X-RateLimit-Reset even with X-RateLimit-Remaining above 0', async () => {
    const h = harness([answer(429, '', { 'x-ratelimit-remaining': '4', 'x-ratelimit-reset': '2' }), answer(204)])
    const r = await abortUpload(upload, context(), h.deps)
    expect(r.outcome).toBe('aborted')
    expect(h.sleeps).toEqual([2000])
  })

  test('a 429 that ends the step names the limit by X-RateLimit-Name, for Datadog support', async () => {
    const h = harness([answer(429, '', { 'x-ratelimit-reset': '600', 'x-ratelimit-name': 'synthetics_files' })])
    const r = await abortUpload(upload, context({ deadline: START + 10_000 }), h.deps)
    expect(r.outcome).toBe('failed')
    expect(r.hint).toMatch(/Datadog names this limit "synthetics_files" \(X-RateLimit-Name\)/)
    expect(r.hint).toMatch(/Datadog support/)
  })

  test('an X-RateLimit-Name holding a link or markup is quoted by the characters a name has', async () => {
    const name = 'synthetics_files https://evil.example/x <b>[y](z)</b>'
    const h = harness([answer(429, '', { 'x-ratelimit-reset': '600', 'x-ratelimit-name': name })])
    const r = await abortUpload(upload, context({ deadline: START + 10_000 }), h.deps)
    expect(r.hint).toMatch(/Datadog names this limit "synthetics_fileshttps:evil.examplexbyzb" \(X-RateLimit-Name\)/)
  })

  test('a key split across messages, each piece too short to match alone, is redacted as one', async () => {
    const pieces = API_KEY.match(/.{1,7}/g) ?? []
    const h = harness([answer(400, JSON.stringify({ errors: pieces }), { 'content-type': 'application/json' })])
    const r = await abortUpload(upload, context(), h.deps)
    expect(r.errors).toHaveLength(1)
    expect(r.errors.join('').replace(/[^0-9a-f]/g, '')).not.toContain(API_KEY.slice(0, 8))
  })

  test('in a batch, a window whose reset is past the deadline fails the upload at once, naming the reset', async () => {
    const h = harness([answer(204, '', { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '3000' })])
    const gate = new RateGate({ now: h.deps.now, sleep: h.deps.sleep, deadline: START + 5000 })
    const ctx = context({ gate, deadline: START + 5000 })
    expect((await abortUpload(upload, ctx, h.deps)).outcome).toBe('aborted')
    const r = await abortUpload({ ...upload, uploadId: 'second' }, ctx, h.deps)
    expect(r.outcome).toBe('failed')
    expect(r.kind).toBe('rate-limit')
    expect(r.attempts).toBe(0)
    expect(r.message).toMatch(/was not attempted: Datadog's rate limit resets in 3000\.0 s \(X-RateLimit-Reset\)/)
    expect(h.sleeps).toEqual([])
    expect(h.requests).toHaveLength(1)
  })

  test('gives up after max-retries retries', async () => {
    const h = harness([answer(503), answer(503), answer(503)])
    const r = await abortUpload(upload, context({ maxRetries: 2 }), h.deps)
    expect(r.outcome).toBe('failed')
    expect(r.status).toBe(503)
    expect(r.attempts).toBe(3)
    expect(h.log).toHaveLength(2)
    expect(r.message).toMatch(/after 3 attempts/)
    // A 5xx may have been acted on: the person is told so.
    expect(r.hint).toMatch(/may or may not/)
  })

  test('max-retries 0 sends once', async () => {
    const h = harness([answer(503)])
    const r = await abortUpload(upload, context({ maxRetries: 0 }), h.deps)
    expect(r.attempts).toBe(1)
    expect(r.outcome).toBe('failed')
    expect(h.log).toEqual([])
  })

  test('gives up at once when the next wait would pass the deadline', async () => {
    const h = harness([answer(503, '', { 'retry-after': '60' })])
    const r = await abortUpload(upload, context({ deadline: START + 10_000 }), h.deps)
    expect(r.outcome).toBe('failed')
    expect(r.attempts).toBe(1)
    expect(h.sleeps).toEqual([])
    expect(r.message).toMatch(/timeout/)
    expect(r.message).toMatch(/retry-after/)
  })

  test('a deadline already reached sends nothing', async () => {
    const h = harness([])
    const r = await abortUpload(upload, context({ deadline: START + 50 }), h.deps)
    expect(h.requests).toEqual([])
    expect(r.attempts).toBe(0)
    expect(r.outcome).toBe('failed')
    expect(r.kind).toBe('timeout')
  })

  test.each([301, 302, 307, 308])('%d redirect fails without following, naming where it pointed', async status => {
    const h = harness([answer(status, '', { location: 'https://evil.example/collect?token=abc' })])
    const r = await abortUpload(upload, context(), h.deps)
    expect(r.outcome).toBe('failed')
    expect(r.kind).toBe('redirect')
    expect(r.status).toBe(status)
    expect(r.attempts).toBe(1)
    expect(h.requests).toHaveLength(1)
    expect(r.message).toContain('evil.example')
    expect(r.message).not.toContain('token=abc')
    expect(r.hint).toMatch(/redirect/)
  })

  test('TLS failure is not retried and says how to fix trust', async () => {
    const h = harness([networkFailure('SELF_SIGNED_CERT_IN_CHAIN', false)])
    const r = await abortUpload(upload, context(), h.deps)
    expect(r.outcome).toBe('failed')
    expect(r.kind).toBe('tls')
    expect(r.attempts).toBe(1)
    expect(r.hint).toMatch(/NODE_EXTRA_CA_CERTS/)
  })

  test('network failures use up the retries, then report the host', async () => {
    const down = networkFailure('ECONNREFUSED', false, 'connection refused (ECONNREFUSED)')
    const h = harness([down, down])
    const r = await abortUpload(upload, context({ maxRetries: 1 }), h.deps)
    expect(r.outcome).toBe('failed')
    expect(r.kind).toBe('network')
    expect(r.status).toBeUndefined()
    expect(r.attempts).toBe(2)
    expect(r.message).toContain('api.datadoghq.com')
    expect(r.errors).toEqual(['connection refused (ECONNREFUSED)'])
  })

  test('cancelled before the answer: outcome "cancelled"', async () => {
    const controller = new AbortController()
    const h = harness([
      () => {
        controller.abort('cancelled')
        return { kind: 'cancelled', code: 'cancelled', message: 'the step was cancelled', requestSent: true }
      }
    ])
    const r = await abortUpload(upload, context({ signal: controller.signal }), h.deps)
    expect(r.outcome).toBe('cancelled')
    expect(r.kind).toBe('cancelled')
    expect(r.attempts).toBe(1)
    expect(r.hint).toMatch(/may or may not/)
  })

  test('cancelled while waiting to retry: outcome "cancelled", no further request', async () => {
    const controller = new AbortController()
    const h = harness([
      () => {
        controller.abort('cancelled')
        return answer(503)
      },
      answer(204)
    ])
    const r = await abortUpload(upload, context({ signal: controller.signal }), h.deps)
    expect(r.outcome).toBe('cancelled')
    expect(r.status).toBe(503)
    expect(h.requests).toHaveLength(1)
  })

  test('the step running out of time mid-request is a timeout failure, not a cancellation', async () => {
    const controller = new AbortController()
    const h = harness([
      () => {
        controller.abort('deadline')
        return { kind: 'timeout', code: 'deadline', message: 'the step ran out of time', requestSent: true }
      }
    ])
    const r = await abortUpload(upload, context({ signal: controller.signal }), h.deps)
    expect(r.outcome).toBe('failed')
    expect(r.kind).toBe('timeout')
    expect(r.attempts).toBe(1)
  })

  describe('keys echoed by the server are redacted', () => {
    test('in errors, raw and URL-encoded', async () => {
      const body = JSON.stringify({
        errors: [`Invalid API key ${API_KEY}`, `app key ${encodeURIComponent(APP_KEY)} lacks permission`]
      })
      const h = harness([answer(403, body, { 'content-type': 'application/json' })])
      const r = await abortUpload(upload, context(), h.deps)
      expect(r.outcome).toBe('failed')
      const all = JSON.stringify(r)
      expect(all).not.toContain(API_KEY)
      expect(all).not.toContain(APP_KEY)
      expect(r.errors[0]).toBe('Invalid API key ***')
    })

    test('an access token: sent alone as a bearer token, redacted when echoed, and the hint names scope and expiry', async () => {
      const body = JSON.stringify({ errors: [`Unauthorized ${TOKEN}`, `token ${encodeURIComponent(TOKEN)} expired`] })
      const h = harness([answer(401, body, { 'content-type': 'application/json' })])
      const r = await abortUpload(upload, context({ credentials: { kind: 'token', token: TOKEN } }), h.deps)
      expect(r.outcome).toBe('failed')
      expect(h.requests[0]?.headers['Authorization']).toBe(`Bearer ${TOKEN}`)
      expect(Object.keys(h.requests[0]?.headers ?? {}).filter(name => /^dd-/i.test(name))).toEqual([])
      expect(JSON.stringify(r)).not.toContain(TOKEN.slice(6, 14))
      expect(r.errors[0]).toBe('Unauthorized ***')
      expect(r.hint).toMatch(/synthetics_write scope.*expired.*its user's permissions/)
    })

    test('in the message (a redirect whose Location holds the key)', async () => {
      const h = harness([answer(302, '', { location: `https://evil.example/${API_KEY}/x` })])
      const r = await abortUpload(upload, context(), h.deps)
      expect(r.message).toContain('evil.example')
      expect(r.message).not.toContain(API_KEY)
    })

    test('in a network error message', async () => {
      const h = harness([networkFailure('EPROTO', false, `bad header DD-API-KEY: ${API_KEY}`)])
      const r = await abortUpload(upload, context({ maxRetries: 0 }), h.deps)
      expect(JSON.stringify(r)).not.toContain(API_KEY)
    })

    // The warning is built from the server's messages before they are
    // redacted, and only errors and message go through redact().
    test('in the warning of an ignored 404', async () => {
      const h = harness([answer(404, JSON.stringify({ errors: [`no upload for key ${API_KEY}`] }))])
      const r = await abortUpload(upload, context({ ignoreNotFound: true }), h.deps)
      expect(r.outcome).toBe('not-found')
      expect(r.warning ?? '').not.toContain(API_KEY)
    })

    // Messages are cut to their length bound before redaction, so a key
    // that straddles the cut is no longer matched and its head stays.
    test('even when the key straddles the length bound of a message', async () => {
      const body = JSON.stringify({ errors: [`${'x'.repeat(480)} ${API_KEY}`] })
      const h = harness([answer(403, body)])
      const r = await abortUpload(upload, context(), h.deps)
      expect(r.errors.join(' ')).not.toContain(API_KEY.slice(0, 12))
    })
  })

  // Datadog sends X-RateLimit-* on every answer. A 503 with budget left is
  // not a rate limit: waiting for the window's reset (up to a whole period)
  // only burns the step's time, or ends it without a retry.
  test('a 5xx carrying routine rate-limit headers (budget left) retries on backoff, not at the window reset', async () => {
    const headers = {
      'x-ratelimit-limit': '100',
      'x-ratelimit-period': '60',
      'x-ratelimit-remaining': '57',
      'x-ratelimit-reset': '45'
    }
    const h = harness([answer(503, '', headers), answer(204)])
    const r = await abortUpload(upload, context({ deadline: START + 30_000 }), h.deps)
    expect(r.outcome).toBe('aborted')
    expect(h.sleeps[0]).toBeLessThanOrEqual(500)
  })
})
