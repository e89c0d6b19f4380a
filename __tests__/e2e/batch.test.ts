// Many uploads in one step, through the real bundle.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { EmulatorClient, type PresignedUrlsAnswer } from '../../emulator/client.ts'
import { DEFAULT_KEYS, startEmulator, type Emulator, type EmulatorOptions } from '../../emulator/server.ts'
import { withRawServer } from '../support/raw-server.ts'
import { annotations, leakedSecrets, runAction } from '../support/runner.ts'

const KEYS = [DEFAULT_KEYS.apiKey, DEFAULT_KEYS.appKey]
let emulator: Emulator
let dir: string

beforeAll(async () => {
  emulator = await startEmulator()
  dir = mkdtempSync(join(tmpdir(), 'abort-batch-'))
})
afterEach(() => {
  emulator.setFaults([])
  emulator.setRateLimit(undefined)
  emulator.setLatency(0)
})
afterAll(async () => {
  await emulator.close()
  rmSync(dir, { recursive: true, force: true })
})

const base = (): Record<string, string> => ({
  'api-key': DEFAULT_KEYS.apiKey,
  'app-key': DEFAULT_KEYS.appKey,
  'api-url': emulator.url
})

interface ResultEntry {
  testId: string
  key: string
  uploadId: string
  status: number | null
  outcome: string
  attempts: number
  errors: string[]
}

function results(outputs: Record<string, string>): ResultEntry[] {
  return JSON.parse(outputs['results'] ?? '[]') as ResultEntry[]
}

/** Aborts `count` fresh uploads in one step against their own emulator. */
async function batchOn(
  options: EmulatorOptions,
  count: number,
  concurrency: number,
  extra: Record<string, string> = {}
) {
  const fresh = await startEmulator(options)
  try {
    const uploads = Array.from({ length: count }, () => fresh.startUpload('abc-def-123'))
    const result = await runAction({
      inputs: {
        'api-key': DEFAULT_KEYS.apiKey,
        'app-key': DEFAULT_KEYS.appKey,
        'api-url': fresh.url,
        'test-id': 'abc-def-123',
        concurrency: String(concurrency),
        uploads: JSON.stringify(uploads.map(u => ({ key: u.key, uploadId: u.uploadId }))),
        ...extra
      },
      killAfterMs: 20_000
    })
    return { result, open: fresh.openUploads(), stats: fresh.stats(), sent: fresh.abortRequests().length }
  } finally {
    await fresh.close()
  }
}

const presignedAnswer = (testId: string): Promise<PresignedUrlsAnswer> =>
  new EmulatorClient(emulator.url).start(testId, ['step file'], 'browser-upload-file-step')

test('a JSON list across two tests: every upload aborted, counts, results and a summary row each', async () => {
  const a = [1, 2, 3].map(() => emulator.startUpload('abc-def-123'))
  const b = [1, 2].map(() => emulator.startUpload('xyz-uvw-789'))
  const uploads = [
    ...a.map(u => ({ key: u.key, uploadId: u.uploadId })),
    ...b.map(u => ({ testId: 'xyz-uvw-789', key: u.key, uploadId: u.uploadId }))
  ]
  const result = await runAction({ inputs: { ...base(), 'test-id': 'abc-def-123', uploads: JSON.stringify(uploads) } })
  expect(result.code).toBe(0)
  for (const u of [...a, ...b]) expect(emulator.uploadState(u.uploadId)).toBe('aborted')
  expect(result.outputs).toMatchObject({
    'aborted-count': '5',
    'not-found-count': '0',
    'failed-count': '0',
    aborted: 'true',
    attempts: '5'
  })
  expect(results(result.outputs).map(r => [r.testId, r.outcome, r.status])).toEqual([
    ...a.map(() => ['abc-def-123', 'aborted', 204]),
    ...b.map(() => ['xyz-uvw-789', 'aborted', 204])
  ])
  expect(result.summary.split('\n').filter(l => l.includes('✅ aborted'))).toHaveLength(5)
  expect(leakedSecrets(result, KEYS)).toEqual([])
})

test("Datadog's presigned-URLs answers from a file, the test taken from each key", async () => {
  const answers = [await presignedAnswer('abc-def-123'), await presignedAnswer('xyz-uvw-789')]
  const file = join(dir, 'manifest.json')
  writeFileSync(file, JSON.stringify(answers))
  const result = await runAction({ inputs: { ...base(), 'uploads-file': file } })
  expect(result.code).toBe(0)
  expect(results(result.outputs).map(r => r.testId)).toEqual(['abc-def-123', 'xyz-uvw-789'])
  for (const r of results(result.outputs)) expect(emulator.uploadState(r.uploadId)).toBe('aborted')
})

test('a manifest appended one answer a line (JSON Lines) is read as a list', async () => {
  const answers = [await presignedAnswer('abc-def-123'), await presignedAnswer('abc-def-123')]
  const file = join(dir, 'appended.jsonl')
  writeFileSync(file, answers.map(a => JSON.stringify(a) + '\n').join(''))
  const result = await runAction({ inputs: { ...base(), 'uploads-file': file } })
  expect(result.code).toBe(0)
  expect(result.outputs['aborted-count']).toBe('2')
})

test('a single presigned-URLs answer passed straight through "uploads"', async () => {
  const answer = await presignedAnswer('abc-def-123')
  const result = await runAction({ inputs: { ...base(), uploads: JSON.stringify(answer) } })
  expect(result.code).toBe(0)
  expect(emulator.uploadState(answer.multipart_presigned_urls_params.upload_id)).toBe('aborted')
})

test("the answer as Datadog's TypeScript client serializes it (multipartPresignedUrlsParams)", async () => {
  const answer = await presignedAnswer('abc-def-123')
  const { key, upload_id: uploadId, urls } = answer.multipart_presigned_urls_params
  const serialized = { bucketKey: answer.bucketKey, multipartPresignedUrlsParams: { key, uploadId, urls } }
  const result = await runAction({ inputs: { ...base(), uploads: JSON.stringify([serialized]) } })
  expect(result.code).toBe(0)
  expect(annotations(result, 'warning')).toEqual([])
  expect(emulator.uploadState(uploadId)).toBe('aborted')
})

test('duplicated entries are aborted once', async () => {
  const u = emulator.startUpload('abc-def-123')
  const entry = { testId: 'abc-def-123', key: u.key, uploadId: u.uploadId }
  const before = emulator.abortRequests().length
  const result = await runAction({ inputs: { ...base(), uploads: JSON.stringify([entry, entry, { ...entry }]) } })
  expect(result.code).toBe(0)
  expect(emulator.abortRequests().length - before).toBe(1)
  expect(results(result.outputs)).toHaveLength(1)
  expect(annotations(result, 'warning')).toEqual([
    'Input "uploads" has 2 duplicates (same test, key and upload ID as an earlier entry); each upload is aborted once.'
  ])
})

test('one failing entry: every other entry is still tried, then the step fails', async () => {
  const good = [1, 2, 3].map(() => emulator.startUpload('abc-def-123'))
  const uploads = [
    { key: good[0]?.key, uploadId: good[0]?.uploadId },
    { key: 'org-1/api-upload-file/abc-def-123/missing.json', uploadId: 'missing' },
    ...good.slice(1).map(u => ({ key: u.key, uploadId: u.uploadId }))
  ]
  const result = await runAction({ inputs: { ...base(), 'test-id': 'abc-def-123', uploads: JSON.stringify(uploads) } })
  expect(result.code).toBe(1)
  for (const u of good) expect(emulator.uploadState(u.uploadId)).toBe('aborted')
  expect(result.outputs).toMatchObject({ 'aborted-count': '3', 'failed-count': '1', aborted: 'false' })
  expect(results(result.outputs)[1]).toMatchObject({ uploadId: 'missing', status: 404, outcome: 'failed' })
  expect(annotations(result, 'error').at(-1)).toMatch(/1 of 4 uploads could not be aborted/)
  expect(result.summary).toContain('❌ failed')
  const failedLine = result.stdout.split('\n').find(line => line.startsWith('Failed: ')) ?? ''
  expect(failedLine).toContain('the key and upload ID of uploads[1] come from the same answer')
  expect(failedLine).not.toMatch(/"key"|"upload-id"|"test-id"/)
})

test('ignore-not-found counts 404s apart and succeeds', async () => {
  const u = emulator.startUpload('abc-def-123')
  const uploads = [
    { key: u.key, uploadId: u.uploadId },
    { key: 'org-1/api-upload-file/abc-def-123/gone.json', uploadId: 'gone' }
  ]
  const result = await runAction({
    inputs: { ...base(), 'test-id': 'abc-def-123', uploads: JSON.stringify(uploads), 'ignore-not-found': 'true' }
  })
  expect(result.code).toBe(0)
  expect(result.outputs).toMatchObject({ 'aborted-count': '1', 'not-found-count': '1', 'failed-count': '0' })
})

describe('bad lists fail before any request, naming the entry and field', () => {
  test.each<[string, Record<string, string>, RegExp]>([
    [
      'an entry without uploadId',
      { 'test-id': 'abc-def-123', uploads: '[{"key":"k1","uploadId":"u1"},{"key":"k2"}]' },
      /uploads\[1\]\.uploadId is missing/
    ],
    [
      'a wrong type',
      { 'test-id': 'abc-def-123', uploads: '[{"key":"k1","uploadId":42}]' },
      /uploads\[0\]\.uploadId must be a string/
    ],
    [
      'a bad testId',
      { uploads: '[{"testId":"abc_def_123","key":"org-1/api-upload-file/abc-def-123/f.json","uploadId":"u"}]' },
      /uploads\[0\]\.testId is "abc_def_123", which is not a test public ID.*The key names test abc-def-123; did you mean that\?/
    ],
    ['no test anywhere', { uploads: '[{"key":"k","uploadId":"u"}]' }, /uploads\[0\] has no "testId"/],
    ['not JSON', { uploads: '[{key: 1}]' }, /Input "uploads" is not valid JSON/],
    [
      'both forms',
      { 'test-id': 'abc-def-123', key: 'k', 'upload-id': 'u', uploads: '[{"key":"k","uploadId":"u"}]' },
      /Give either the single upload/
    ],
    [
      'a missing file',
      { 'uploads-file': '/nonexistent/manifest.json' },
      /Input "uploads-file": cannot read .* \(ENOENT\)/
    ],
    [
      'a bad concurrency',
      { 'test-id': 'abc-def-123', uploads: '[{"key":"k","uploadId":"u"}]', concurrency: '33' },
      /Input "concurrency" must be a whole number from 1 to 32/
    ]
  ])('%s', async (_name, inputs, message) => {
    const before = emulator.requests.length
    const result = await runAction({ inputs: { ...base(), ...inputs } })
    expect(result.code).toBe(1)
    expect(emulator.requests.length).toBe(before)
    expect(annotations(result, 'error').join('\n')).toMatch(message)
  })
})

test('concurrency bounds how many aborts are in flight', async () => {
  const { result, open, stats } = await batchOn({ latencyMs: 60 }, 12, 3)
  expect(result.code).toBe(0)
  expect(stats.maxConcurrent).toBe(3)
  expect(open).toBe(0)
})

test('under a rate limit every upload is aborted, with at most one 429 per window', async () => {
  const { result, open, stats } = await batchOn({ rateLimit: { limit: 5, periodSeconds: 1 }, latencyMs: 10 }, 15, 8)
  expect(result.code).toBe(0)
  expect(open).toBe(0)
  expect(stats.rateLimited).toBeLessThanOrEqual(3)
  // 15 requests at 5 a window span three windows, so at least one whole one.
  expect(result.durationMs).toBeGreaterThanOrEqual(1000)
})

// 40 uploads at 10 a window need four windows: three resets of 1 s to wait
// for. Pacing at the average rate and then waiting out the reset took about
// twice that; bursting each window takes the floor and a little.
test('each window is spent in one burst, then the reset is the only wait', async () => {
  const { result, open, stats } = await batchOn({ rateLimit: { limit: 10, periodSeconds: 1 } }, 40, 32)
  expect(result.code).toBe(0)
  expect(open).toBe(0)
  expect(stats.rateLimited).toBeLessThanOrEqual(4)
  expect(result.durationMs).toBeGreaterThanOrEqual(3000)
  expect(result.durationMs).toBeLessThan(5500)
})

test('a window whose reset is after the deadline (3000 s, on a 2xx) fails the rest at once, naming reset and limit', async () => {
  const spent = {
    kind: 'status' as const,
    status: 204,
    body: '',
    headers: {
      'X-RateLimit-Limit': '1',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': '3000',
      'X-RateLimit-Name': 'synthetics_files'
    }
  }
  const { result, sent } = await batchOn({ faults: [spent] }, 5, 4, { timeout: '10' })
  expect(result.code).toBe(1)
  expect(sent).toBe(1)
  expect(result.durationMs).toBeLessThan(3000)
  expect(result.outputs).toMatchObject({ 'aborted-count': '1', 'failed-count': '4' })
  for (const held of results(result.outputs).slice(1)) {
    expect(held).toMatchObject({ outcome: 'failed', attempts: 0, status: null })
  }
  expect(annotations(result, 'error')[0]).toBe(
    'Not sent: Datadog\'s rate limit "synthetics_files" resets in 3000.0 s (X-RateLimit-Reset), after the step\'s timeout.'
  )
  expect(result.stdout).toMatch(/To have a limit raised, give Datadog support its name \(X-RateLimit-Name\)/)
})

test.each([
  ['a reset of 31 years on a 2xx', 204, { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '978307200' }],
  ['a reset of 10^12 s on a 429', 429, { 'X-RateLimit-Remaining': '3', 'X-RateLimit-Reset': '999999999999' }],
  [
    'a period of 10^12 s',
    204,
    { 'X-RateLimit-Limit': '1', 'X-RateLimit-Period': '999999999999', 'X-RateLimit-Remaining': '0' }
  ],
  ['negative and NaN values', 429, { 'X-RateLimit-Remaining': '-1', 'X-RateLimit-Reset': 'NaN', 'Retry-After': '-5' }]
])('%s never reaches a timer: no TimeoutOverflowWarning, done within the timeout', async (_name, status, headers) => {
  const { result } = await batchOn({ faults: [{ kind: 'status', status, body: '', headers }] }, 4, 2, {
    timeout: '5'
  })
  expect(result.stderr).not.toMatch(/TimeoutOverflowWarning/)
  expect(result.killed).toBe(false)
  expect(result.durationMs).toBeLessThan(7000)
})

// The one bound the README promises whatever the server does: the step ends
// within 1.5 s of its timeout. The heaviest batch, every upload left waiting
// on a server that never answers, is the most there is to stop and report.
test('10,000 uploads against a server that never answers: ended within 1.5 s of the timeout, every upload reported', async () => {
  const file = join(dir, 'ten-thousand.json')
  const uploads = Array.from({ length: 10_000 }, (_, i) => ({
    key: `org-1/api-upload-file/abc-def-123/2024-01-01T00:00:00_${i}.json`,
    uploadId: `upload-${i}`
  }))
  writeFileSync(file, JSON.stringify(uploads))
  await withRawServer(
    () => undefined,
    async url => {
      const result = await runAction({
        inputs: {
          ...base(),
          'api-url': url.replace(/\/$/, ''),
          'test-id': 'abc-def-123',
          'uploads-file': file,
          timeout: '3',
          concurrency: '32'
        },
        killAfterMs: 20_000
      })
      expect(result.killed).toBe(false)
      expect(result.runMs).toBeLessThan(3000 + 1500)
      expect(result.code).toBe(1)
      expect(result.stdout + result.stderr).not.toMatch(/Unexpected error/)
      expect(result.outputs['failed-count']).toBe('10000')
      const listed = JSON.parse(readFileSync(result.outputs['results-file'] ?? '', 'utf8')) as ResultEntry[]
      rmSync(dirname(result.outputs['results-file'] ?? ''), { recursive: true, force: true })
      expect(listed.map(r => r.uploadId)).toEqual(uploads.map(u => u.uploadId))
      expect(listed.at(-1)).toMatchObject({
        outcome: 'failed',
        attempts: 0,
        errors: ['the step ran out of time (see "timeout")']
      })
    }
  )
})

test('an empty list is nothing to do: success with a warning, no request', async () => {
  const before = emulator.requests.length
  const result = await runAction({ inputs: { ...base(), 'test-id': 'abc-def-123', uploads: '[]' } })
  expect(result.code).toBe(0)
  expect(emulator.requests.length).toBe(before)
  expect(annotations(result, 'warning').join('\n')).toMatch(/empty list: there is nothing to abort/)
  expect(result.outputs).toMatchObject({ 'aborted-count': '0', 'failed-count': '0', aborted: 'false', results: '[]' })
})

describe('uploads-file is read safely', () => {
  test.each<[string, () => string, RegExp]>([
    ['a directory', () => dir, /not a regular file|a directory/],
    [
      'a FIFO (would block a plain read)',
      () => {
        const fifo = join(dir, 'fifo')
        execFileSync('mkfifo', [fifo])
        return fifo
      },
      /not a regular file \(ENOTREG\)/
    ],
    [
      'a file over 16 MiB',
      () => {
        const big = join(dir, 'big.json')
        writeFileSync(big, Buffer.alloc(16 * 1024 * 1024 + 1, 0x20))
        return big
      },
      /larger than 16 MiB \(EFBIG\)/
    ]
  ])('%s is refused at once, naming the input', async (_name, make, message) => {
    const result = await runAction({
      inputs: { ...base(), 'test-id': 'abc-def-123', 'uploads-file': make() },
      killAfterMs: 10_000
    })
    expect(result.killed).toBe(false)
    expect(result.code).toBe(1)
    expect(annotations(result, 'error').join('\n')).toMatch(/Input "uploads-file": cannot read/)
    expect(annotations(result, 'error').join('\n')).toMatch(message)
  })
})

test('dry run: every request printed without keys, nothing sent, outputs say so', async () => {
  const u = [emulator.startUpload('abc-def-123'), emulator.startUpload('abc-def-123')]
  const before = emulator.requests.length
  const result = await runAction({
    inputs: {
      ...base(),
      'test-id': 'abc-def-123',
      'dry-run': 'true',
      uploads: JSON.stringify(u.map(x => ({ key: x.key, uploadId: x.uploadId })))
    }
  })
  expect(result.code).toBe(0)
  expect(emulator.requests.length).toBe(before)
  for (const x of u) {
    expect(emulator.uploadState(x.uploadId)).toBe('open')
    expect(result.stdout).toContain(
      `Dry run: would send POST ${emulator.url}/api/v2/synthetics/tests/abc-def-123/files/multipart-upload-abort ${JSON.stringify({ key: x.key, uploadId: x.uploadId })}`
    )
  }
  expect(result.outputs).toMatchObject({ 'dry-run': 'true', aborted: 'false', attempts: '0' })
  expect(results(result.outputs).map(r => r.outcome)).toEqual(['dry-run', 'dry-run'])
  expect(result.summary).toMatch(/Dry run/)
  expect(leakedSecrets(result, KEYS)).toEqual([])
})
