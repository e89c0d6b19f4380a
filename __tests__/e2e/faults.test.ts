// Every fault a network or a server can throw at the step, through the real
// bundle: the outcome, the attempts, the time taken, and no key in any output.
import { createServer } from 'node:net'
import { DEFAULT_KEYS, startEmulator, type Emulator, type Fault } from '../../emulator/server.ts'
import { annotations, emulatorInputs, leakedSecrets, runAction, type RunResult } from '../support/runner.ts'

const KEYS = [DEFAULT_KEYS.apiKey, DEFAULT_KEYS.appKey]
// The step may run "about a second" past its timeout; runMs leaves out
// Node's own start-up, which a loaded machine can stretch.
const SLACK_MS = 1000
let emulator: Emulator

beforeAll(async () => {
  emulator = await startEmulator()
})
afterEach(() => emulator.setFaults([]))
afterAll(async () => {
  await emulator.close()
})

async function run(
  faults: Fault[],
  extra: Record<string, string> = {},
  signal?: { name: NodeJS.Signals; when: () => boolean }
) {
  const upload = emulator.startUpload('abc-def-123')
  emulator.setFaults(faults)
  const before = emulator.abortRequests().length
  const result = await runAction({
    inputs: emulatorInputs(emulator.url, upload, extra),
    ...(signal ? { signal } : {})
  })
  expect(leakedSecrets(result, KEYS)).toEqual([])
  expect(result.killed).toBe(false)
  return { result, upload, sent: emulator.abortRequests().length - before }
}

function retryLines(result: RunResult): string[] {
  return result.stdout.split('\n').filter(line => /^Attempt \d+ of \d+ for upload /.test(line))
}

const limited = (reset: string, extra: Record<string, string> = {}): Fault => ({
  kind: 'status',
  status: 429,
  headers: {
    'X-RateLimit-Limit': '10',
    'X-RateLimit-Remaining': '0',
    'X-RateLimit-Reset': reset,
    'X-RateLimit-Period': '10',
    ...extra
  }
})

test('a 429 storm that clears: waits X-RateLimit-Reset each time, then aborts', async () => {
  const { result, upload, sent } = await run([limited('1'), limited('1')])
  expect(result.code).toBe(0)
  expect(emulator.uploadState(upload.uploadId)).toBe('aborted')
  expect(result.outputs).toMatchObject({ attempts: '3', aborted: 'true', status: '204' })
  expect(sent).toBe(3)
  expect(retryLines(result)).toEqual([
    expect.stringMatching(/^Attempt 1 of 6 .*: 429 Too Many Requests; retrying in 1\.0 s \(x-ratelimit-reset\)\.$/),
    expect.stringMatching(/^Attempt 2 of 6 .*: 429 Too Many Requests; retrying in 1\.0 s \(x-ratelimit-reset\)\.$/)
  ])
  expect(result.durationMs).toBeGreaterThanOrEqual(2000)
  expect(result.runMs).toBeLessThan(2000 + SLACK_MS)
})

test.each([
  ['60', '60.0 s'],
  // Past the cap on a single wait: still judged by the real reset, not the cap.
  ['100000', '100000.0 s']
])('a rate limit that resets after the deadline (%s s) fails at once, saying so', async (reset, shown) => {
  const { result, sent } = await run([limited(reset)], { timeout: '5' })
  expect(result.code).toBe(1)
  expect(sent).toBe(1)
  expect(annotations(result, 'error').at(-1)).toContain(
    `429 Too Many Requests after 1 attempt; the next retry (in ${shown}, from x-ratelimit-reset) would pass the step's timeout`
  )
  expect(result.runMs).toBeLessThan(SLACK_MS)
})

describe('no piece of a key survives a cut', () => {
  test('a body past the 64 KiB cap, whose text stops (at 16 KiB) in the middle of an echoed key', async () => {
    // Empty tags vanish from the message, so the cut key would be all it shows.
    const head = '<html><body>' + '<i></i>'.repeat(2336) + '    '
    expect(head.length).toBe(16 * 1024 - 16)
    const body = head + DEFAULT_KEYS.apiKey + '<p>' + 'x'.repeat(64 * 1024) + '</p></body></html>'
    const { result } = await run([{ kind: 'status', status: 400, body, headers: { 'Content-Type': 'text/html' } }])
    expect(result.code).toBe(1)
    expect(JSON.parse(result.outputs['errors'] ?? '[]')).toEqual([
      '(an HTML page, not a Datadog answer: likely a proxy or load balancer) ***'
    ])
  })

  test('a redirect Location that carries a key past the length bound', async () => {
    const location = `https://evil.example/${'a'.repeat(170)}${DEFAULT_KEYS.appKey}`
    const { result } = await run([{ kind: 'redirect', status: 302, location }])
    expect(result.code).toBe(1)
    expect(annotations(result, 'error').at(-1)).toContain('to https://evil.example/')
  })
})

test('a 429 storm that outlasts the timeout ends within a second of it', async () => {
  const { result, sent } = await run(
    Array.from({ length: 20 }, () => limited('1')),
    { timeout: '2.5' }
  )
  expect(result.code).toBe(1)
  expect(sent).toBeGreaterThanOrEqual(2)
  expect(result.outputs['status']).toBe('429')
  expect(result.runMs).toBeLessThan(2500 + SLACK_MS)
})

test('Retry-After (HTTP date and seconds) is honoured when there is no rate-limit header', async () => {
  const date = new Date(Date.now() + 1500).toUTCString()
  const { result } = await run([
    { kind: 'status', status: 503, headers: { 'Retry-After': date } },
    { kind: 'status', status: 503, headers: { 'Retry-After': '0' } }
  ])
  expect(result.code).toBe(0)
  expect(retryLines(result)[0]).toMatch(/\(retry-after\)\.$/)
  expect(result.outputs['attempts']).toBe('3')
})

test('alternating 503 and network failures, then success', async () => {
  const { result, upload, sent } = await run([
    { kind: 'status', status: 503 },
    { kind: 'reset' },
    { kind: 'status', status: 502 },
    { kind: 'reset' }
  ])
  expect(result.code).toBe(0)
  expect(sent).toBe(5)
  expect(emulator.uploadState(upload.uploadId)).toBe('aborted')
  expect(result.outputs['attempts']).toBe('5')
  const lines = retryLines(result)
  expect(lines).toHaveLength(4)
  expect(lines[1]).toMatch(/connection reset|socket hang up/)
  expect(lines.every(l => /\(backoff\)\.$/.test(l))).toBe(true)
})

test('an answer lost after the abort happened, then 404: unconfirmed, never "aborted"; fails unless ignore-not-found', async () => {
  for (const lost of [{ kind: 'abort-then-reset' }, { kind: 'abort-then-status', status: 503 }] as Fault[]) {
    const { result, upload } = await run([lost])
    expect(result.code).toBe(1)
    expect(emulator.uploadState(upload.uploadId)).toBe('aborted')
    expect(result.outputs).toMatchObject({
      attempts: '2',
      aborted: 'false',
      status: '404',
      'aborted-count': '0',
      'unconfirmed-count': '1',
      'failed-count': '0'
    })
    expect(JSON.parse(result.outputs['results'] ?? '[]')).toEqual([
      expect.objectContaining({ outcome: 'unconfirmed', status: 404, attempts: 2 })
    ])
    expect(annotations(result, 'error').at(-1)).toMatch(
      /not confirmed aborted: an earlier attempt may have reached Datadog.*Either that attempt aborted it, or "key", "upload-id", the test or the site never named an open upload/
    )
    const tolerated = await run([lost], { 'ignore-not-found': 'true' })
    expect(tolerated.result.code).toBe(0)
    expect(tolerated.result.outputs).toMatchObject({
      aborted: 'false',
      'unconfirmed-count': '1',
      'not-found-count': '0'
    })
    expect(annotations(tolerated.result, 'warning').join('\n')).toMatch(/not confirmed aborted.*a 404 is accepted here/)
    expect(tolerated.result.summary).toContain('❔ unconfirmed')
  }
})

test('a 503 blip in front of a wrong key is not reported as success', async () => {
  emulator.setFaults([{ kind: 'status', status: 503 }])
  const result = await runAction({
    inputs: emulatorInputs(emulator.url, { key: 'org-1/api-upload-file/abc-def-123/never.json', uploadId: 'never' })
  })
  expect(result.code).toBe(1)
  expect(result.outputs).toMatchObject({ aborted: 'false', 'aborted-count': '0', 'unconfirmed-count': '1' })
})

test('a 429 with budget left still waits X-RateLimit-Reset, as Datadog documents', async () => {
  const { result } = await run([
    { kind: 'status', status: 429, headers: { 'X-RateLimit-Remaining': '7', 'X-RateLimit-Reset': '1' } }
  ])
  expect(result.code).toBe(0)
  expect(retryLines(result)).toEqual([expect.stringMatching(/retrying in 1\.0 s \(x-ratelimit-reset\)\.$/)])
  expect(result.durationMs).toBeGreaterThanOrEqual(1000)
})

test('a 429 that ends the step names the limit (X-RateLimit-Name) for Datadog support', async () => {
  const { result } = await run([limited('600', { 'X-RateLimit-Name': 'synthetics_files' })])
  expect(result.code).toBe(1)
  expect(annotations(result, 'error').at(-1)).toMatch(
    /Datadog names this limit "synthetics_files" \(X-RateLimit-Name\)/
  )
})

test.each([
  ['31 years', { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '978307200' }],
  [
    '10^12 s',
    { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '999999999999', 'X-RateLimit-Period': '999999999999' }
  ],
  ['negative', { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '-5', 'Retry-After': '-5' }],
  ['NaN', { 'X-RateLimit-Remaining': 'NaN', 'X-RateLimit-Reset': 'NaN', 'X-RateLimit-Period': 'NaN' }]
])('absurd rate-limit headers (%s) never reach a timer: no TimeoutOverflowWarning', async (_name, headers) => {
  const { result } = await run(
    Array.from({ length: 3 }, (): Fault => ({ kind: 'status', status: 429, headers })),
    { timeout: '5' }
  )
  expect(result.stderr).not.toMatch(/TimeoutOverflowWarning/)
  expect(result.runMs).toBeLessThan(5000 + SLACK_MS)
})

test('a plain 404 on the first attempt is not mistaken for a lost answer', async () => {
  const { result } = await run([{ kind: 'status', status: 404 }])
  expect(result.code).toBe(1)
  expect(result.outputs['attempts']).toBe('1')
})

test('other 4xx are never retried', async () => {
  for (const status of [400, 401, 403, 409, 422]) {
    const { result, sent } = await run([{ kind: 'status', status }])
    expect(result.code).toBe(1)
    expect(sent).toBe(1)
  }
})

test('max-retries 0: one attempt only', async () => {
  const { result, sent } = await run([{ kind: 'status', status: 503 }], { 'max-retries': '0' })
  expect(result.code).toBe(1)
  expect(sent).toBe(1)
  expect(annotations(result, 'error').at(-1)).toMatch(/503 Service Unavailable after 1 attempt/)
})

test('gives up after max-retries and says the outcome is uncertain', async () => {
  const { result, sent } = await run(
    Array.from({ length: 5 }, () => ({ kind: 'status', status: 500 })),
    {
      'max-retries': '2'
    }
  )
  expect(result.code).toBe(1)
  expect(sent).toBe(3)
  expect(annotations(result, 'error').at(-1)).toMatch(
    /500 Internal Server Error after 3 attempts.*may or may not have reached Datadog/
  )
})

test('connection refused: retried, then a clear failure', async () => {
  const closed = createServer()
  await new Promise<void>(done => closed.listen(0, '127.0.0.1', done))
  const port = (closed.address() as { port: number }).port
  await new Promise(done => closed.close(done))
  const { result } = await run([], { 'api-url': `http://127.0.0.1:${port}`, 'max-retries': '2' })
  expect(result.code).toBe(1)
  expect(result.outputs).toMatchObject({ attempts: '3', status: '' })
  expect(retryLines(result)).toHaveLength(2)
  expect(annotations(result, 'error').at(-1)).toMatch(
    new RegExp(`Could not reach 127\\.0\\.0\\.1:${port}: connection refused \\(ECONNREFUSED\\) after 3 attempts`)
  )
})

describe('servers that stall or trickle never hold the step past its timeout', () => {
  test.each<[string, Fault]>([
    ['stall before headers', { kind: 'stall-before-headers' }],
    ['stall mid-body', { kind: 'stall-mid-body', status: 500 }],
    ['slow trickle', { kind: 'trickle', status: 503, intervalMs: 100 }]
  ])('%s', async (_name, fault) => {
    const { result, upload } = await run(
      Array.from({ length: 10 }, () => fault),
      { timeout: '3' }
    )
    expect(result.code).toBe(1)
    // It waits out at least one idle limit (1 s at this timeout); it may stop
    // before the deadline when the next backoff would not fit in it.
    expect(result.runMs).toBeGreaterThanOrEqual(1000)
    expect(result.runMs).toBeLessThan(3000 + SLACK_MS)
    expect(Number(result.outputs['attempts'])).toBeGreaterThanOrEqual(1)
    expect(annotations(result, 'error').at(-1)).toMatch(
      /ran out of time|no data for|took too long|would pass the step's timeout/
    )
    expect(emulator.uploadState(upload.uploadId)).toBe('open')
  })
})

test('a 2xx status whose body then stalls is a success: the status line says the abort happened', async () => {
  const { result, sent } = await run([{ kind: 'stall-mid-body', status: 200 }], { timeout: '4' })
  expect(result.code).toBe(0)
  expect(sent).toBe(1)
  expect(result.outputs).toMatchObject({ status: '200', aborted: 'true', attempts: '1' })
  expect(result.runMs).toBeLessThan(4000)
})

test('reset mid-body and a truncated body are retried', async () => {
  const { result, upload } = await run([
    { kind: 'reset-mid-body', status: 503 },
    { kind: 'truncated', status: 502 }
  ])
  expect(result.code).toBe(0)
  expect(result.outputs['attempts']).toBe('3')
  expect(emulator.uploadState(upload.uploadId)).toBe('aborted')
})

test('an endless body is cut at the size cap: no memory blow-up, no stall', async () => {
  const retried = await run([{ kind: 'huge-body', status: 500 }])
  expect(retried.result.code).toBe(0)
  expect(retried.result.outputs['attempts']).toBe('2')

  const refused = await run([{ kind: 'huge-body', status: 400 }])
  expect(refused.result.code).toBe(1)
  const errors = JSON.parse(refused.result.outputs['errors'] ?? '[]') as string[]
  expect(errors).toHaveLength(1)
  expect((errors[0] ?? '').length).toBeLessThanOrEqual(600)
  expect(refused.result.runMs).toBeLessThan(SLACK_MS)
})

describe('answers that are not what Datadog sends are reported sensibly', () => {
  test.each<[string, Fault, RegExp]>([
    ['an HTML page from a proxy', { kind: 'html', status: 403 }, /HTML page, not a Datadog answer.*403 Forbidden/],
    ['invalid JSON', { kind: 'status', status: 400, body: '{"errors": [oops' }, /Datadog said: \{"errors": \[oops\. /],
    [
      'errors that is not a list',
      { kind: 'status', status: 400, body: '{"errors": "key is wrong"}' },
      /Datadog said: key is wrong\. /
    ],
    [
      'JSON:API error objects',
      {
        kind: 'status',
        status: 400,
        body: '{"errors":[{"status":"400","title":"Bad Request","detail":"uploadId is malformed"}]}'
      },
      /Datadog said: Bad Request: uploadId is malformed\. /
    ],
    [
      'plain text with a JSON content type',
      { kind: 'status', status: 400, body: 'upstream said no' },
      /Datadog said: upstream said no\. /
    ],
    ['a message field', { kind: 'status', status: 400, body: '{"message":"nope"}' }, /Datadog said: nope\. /]
  ])('%s', async (_name, fault, expected) => {
    const { result } = await run([fault])
    expect(result.code).toBe(1)
    // One upload: one annotation, the failure line, carrying the server's words.
    expect(annotations(result, 'error')).toEqual([expect.stringMatching(expected)])
  })

  test('an empty body with an error status', async () => {
    const { result } = await run([{ kind: 'status', status: 400, body: '' }])
    expect(result.code).toBe(1)
    expect(result.outputs['errors']).toBe('["400 Bad Request with an empty body"]')
    expect(annotations(result, 'error').at(-1)).toMatch(/400 Bad Request with an empty body/)
  })

  test('an HTML 502 from a load balancer is retried', async () => {
    const { result } = await run([{ kind: 'html', status: 502 }])
    expect(result.code).toBe(0)
    expect(result.outputs['attempts']).toBe('2')
  })
})

describe('cancellation', () => {
  test('SIGINT during a wait between retries stops at once', async () => {
    const before = emulator.abortRequests().length
    const { result } = await run(
      [{ kind: 'status', status: 503, headers: { 'Retry-After': '30' } }],
      {},
      { name: 'SIGINT', when: () => emulator.abortRequests().length > before }
    )
    expect(result.code).not.toBe(0)
    expect(result.afterSignalMs).toBeLessThan(1000)
    expect(annotations(result, 'error').at(-1)).toMatch(/cancelled/)
  })

  test.each<NodeJS.Signals>(['SIGINT', 'SIGTERM'])(
    '%s mid-request stops within a second, saying the abort may not have happened',
    async name => {
      const before = emulator.abortRequests().length
      const { result } = await run(
        [{ kind: 'stall-before-headers' }],
        {},
        { name, when: () => emulator.abortRequests().length > before }
      )
      expect(result.code).not.toBe(0)
      expect(result.afterSignalMs).toBeLessThan(1000)
      expect(annotations(result, 'error').at(-1)).toMatch(/cancelled.*may or may not have reached Datadog/)
    }
  )
})
