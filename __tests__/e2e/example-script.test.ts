// examples/upload-test-file.sh, the upload script the README points to, run
// with bash against the emulator: a whole upload on each storage Datadog's
// sites use, one killed right after it has told the cleanup step about the
// upload, and files it refuses before asking Datadog for anything.
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  DEFAULT_KEYS,
  startEmulator,
  STORAGE_KINDS,
  type Emulator,
  type RecordedRequest
} from '../../emulator/server.ts'
import { runStep, type ScriptRun } from '../support/guard-job.ts'

const SCRIPT = fileURLToPath(new URL('../../examples/upload-test-file.sh', import.meta.url))
const TEST_ID = 'abc-def-123'
const PART_BYTES = 1000
const MiB = 1024 * 1024
const KEYS = [DEFAULT_KEYS.apiKey, DEFAULT_KEYS.appKey]

let emulator: Emulator
// Set once the emulator has answered a start request: every later API call
// (the complete) then waits, so a test can act between start and complete.
let holdAfterStart = false
let dir: string

beforeAll(async () => {
  emulator = await startEmulator({
    onResponse: entry => {
      if (holdAfterStart && entry.path.endsWith('/multipart-presigned-urls')) emulator.setLatency(60_000)
    }
  })
})
afterAll(async () => {
  await emulator.close()
})
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'upload-script-'))
  holdAfterStart = false
  emulator.setLatency(0)
  emulator.setStorage('s3')
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

/** Runs the script as a `run:` step; `killWhen` is polled and, once true, the step's process group gets SIGKILL. */
function runScript(file: string, killWhen?: () => boolean, env: Record<string, string> = {}): Promise<ScriptRun> {
  return runStep('"$UPLOAD_SCRIPT" "$@"', [TEST_ID, file], {
    cwd: dir,
    env: {
      UPLOAD_SCRIPT: SCRIPT,
      DD_API_KEY: DEFAULT_KEYS.apiKey,
      DD_APP_KEY: DEFAULT_KEYS.appKey,
      DD_API_URL: emulator.url,
      GITHUB_OUTPUT: join(dir, 'output'),
      DD_SYNTHETICS_UPLOADS_FILE: join(dir, 'uploads.jsonl'),
      UPLOAD_PART_BYTES: String(PART_BYTES),
      // A script killed before its exit trap leaves its parts here, removed with the rest.
      TMPDIR: dir,
      ...env
    },
    ...(killWhen ? { killWhen: () => killWhen() } : {})
  })
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}

/** The step outputs the script wrote, once both lines are there in full. */
function outputs(): { key: string; uploadId: string } | undefined {
  const text = readOrEmpty(join(dir, 'output'))
  const key = /^key=(.+)\n/m.exec(text)?.[1]
  const uploadId = /^upload-id=(.+)\n/m.exec(text)?.[1]
  return key !== undefined && uploadId !== undefined ? { key, uploadId } : undefined
}

const md5Base64 = (bytes: Buffer): string => createHash('md5').update(bytes).digest('base64')
const md5Hex = (bytes: Buffer): string => createHash('md5').update(bytes).digest('hex')

/** The requests the emulator got since `from`: the start, the part PUTs, the complete. */
function requestsSince(from: number): { start?: RecordedRequest; puts: RecordedRequest[]; complete?: RecordedRequest } {
  const since = emulator.requests.slice(from)
  return {
    start: since.find(r => r.path.endsWith('/multipart-presigned-urls')),
    puts: since.filter(r => r.method === 'PUT'),
    complete: since.find(r => r.path.endsWith('/multipart-upload-complete'))
  }
}

// What a user sees in the step log once the upload is complete, by storage.
const COMPLETED_ON = { s3: 'S3-style storage', azure: 'Azure-style storage' }
// The ETag the complete request names a part by: S3's, quoted as in Datadog's
// API examples; none from Azure, so empty, as Datadog's uploader sends it.
const COMPLETE_ETAG = { s3: (part: Buffer) => `"${md5Hex(part)}"`, azure: () => '' }

describe.each(STORAGE_KINDS)('on %s-style storage', storage => {
  beforeEach(() => emulator.setStorage(storage))

  test('uploads a file in parts, writes key and upload-id, and completes the upload', async () => {
    const content = Buffer.from(Array.from({ length: 2500 }, (_, i) => (i * 7) % 256))
    writeFileSync(join(dir, 'file.bin'), content)
    const from = emulator.requests.length

    const run = await runScript('file.bin')

    for (const key of KEYS) expect(run.stderr).not.toContain(key)
    expect(run.code).toBe(0)
    const written = outputs()
    expect(written).toBeDefined()
    const { key, uploadId } = written!
    expect(key).toMatch(new RegExp(`^org-1/api-upload-file/${TEST_ID}/`))
    expect(emulator.uploadState(uploadId)).toBe('completed')
    expect(emulator.storedBytes(uploadId)).toBe(content.length)
    expect(run.stderr).toContain(`Completed upload ${uploadId} on ${COMPLETED_ON[storage]}`)

    const { start, puts, complete } = requestsSince(from)
    const parts = [0, 1, 2].map(i => content.subarray(i * PART_BYTES, (i + 1) * PART_BYTES))
    expect(JSON.parse(start!.body)).toEqual({
      bucketKeyPrefix: 'api-upload-file',
      parts: parts.map((part, i) => ({ md5: md5Base64(part), partNumber: i + 1 }))
    })
    // Each part with the MD5 the start request named for it, and no Content-Type.
    expect(puts.map(r => [r.headers['content-md5'], r.headers['content-type']])).toEqual(
      parts.map(part => [md5Base64(part), undefined])
    )
    expect(JSON.parse(complete!.body)).toEqual({
      key,
      uploadId,
      parts: parts.map((part, i) => ({ ETag: COMPLETE_ETAG[storage](part), PartNumber: i + 1 }))
    })

    const manifest = readFileSync(join(dir, 'uploads.jsonl'), 'utf8').trimEnd().split('\n')
    expect(manifest).toHaveLength(2)
    expect(JSON.parse(manifest[0]!).multipart_presigned_urls_params).toMatchObject({ key, upload_id: uploadId })
    // The completion mark: the guard leaves this upload alone.
    expect(JSON.parse(manifest[1]!)).toEqual({ completed: { key, uploadId } })
  })

  test('never sends the keys to the storage: they go to the API host only', async () => {
    writeFileSync(join(dir, 'file.bin'), Buffer.alloc(2500, 'k'))
    const from = emulator.requests.length

    const run = await runScript('file.bin')

    expect(run.code).toBe(0)
    const { start, puts } = requestsSince(from)
    // The keys are there to be found: on the API request.
    expect(start!.headers['dd-api-key']).toBe(DEFAULT_KEYS.apiKey)
    expect(puts).toHaveLength(3)
    for (const put of puts) {
      const sent = JSON.stringify({ path: put.path, headers: put.headers })
      for (const key of KEYS) expect(sent).not.toContain(key)
    }
  })
})

test("sends 10 MiB parts by default, as Datadog's uploaders do", async () => {
  const content = Buffer.alloc(10 * MiB + 1)
  for (let i = 0; i < content.length; i += 4096) content[i] = (i / 4096) % 251
  writeFileSync(join(dir, 'file.bin'), content)
  const from = emulator.requests.length

  const run = await runScript('file.bin', undefined, { UPLOAD_PART_BYTES: '' })

  expect(run.code).toBe(0)
  const { start, puts } = requestsSince(from)
  const parts = [content.subarray(0, 10 * MiB), content.subarray(10 * MiB)]
  expect(JSON.parse(start!.body).parts).toEqual(parts.map((part, i) => ({ md5: md5Base64(part), partNumber: i + 1 })))
  expect(puts.map(r => r.headers['content-length'])).toEqual(parts.map(part => String(part.length)))
  expect(emulator.uploadState(outputs()!.uploadId)).toBe('completed')
})

// Not a sparse file of 10,001 default parts: a script that split it before
// counting would write 100 GB to disk.
test('refuses a file of more than 10,000 parts before any request', async () => {
  writeFileSync(join(dir, 'file.bin'), Buffer.alloc(10_001, 'p'))
  const from = emulator.requests.length

  const run = await runScript('file.bin', undefined, { UPLOAD_PART_BYTES: '1' })

  expect(run.code).toBe(1)
  expect(run.stderr).toContain(
    'file.bin needs 10001 parts of 1 bytes, and storage takes at most 10000: raise UPLOAD_PART_BYTES'
  )
  // Nothing half-done: no upload opened, nothing for the cleanup step.
  expect(emulator.requests.length).toBe(from)
  expect(readOrEmpty(join(dir, 'output'))).toBe('')
  expect(readOrEmpty(join(dir, 'uploads.jsonl'))).toBe('')
})

test.each(['0', '5368709121', '99999999999999999999', '1e6', '-1'])(
  'refuses UPLOAD_PART_BYTES=%s before any request, naming what it takes',
  async partBytes => {
    writeFileSync(join(dir, 'file.bin'), 'x')
    const from = emulator.requests.length

    const run = await runScript('file.bin', undefined, { UPLOAD_PART_BYTES: partBytes })

    expect(run.code).toBe(1)
    expect(run.stderr).toContain(
      `UPLOAD_PART_BYTES must be a whole number of bytes from 1 to 5368709120 (5 GiB), got '${partBytes}'`
    )
    expect(emulator.requests.length).toBe(from)
  }
)

test('killed right after it wrote GITHUB_OUTPUT, it leaves an open upload that the outputs name', async () => {
  writeFileSync(join(dir, 'file.bin'), Buffer.alloc(2500, 'a'))
  holdAfterStart = true

  const run = await runScript('file.bin', () => outputs() !== undefined)

  expect(run.signal).toBe('SIGKILL')
  const written = outputs()
  expect(written).toBeDefined()
  expect(emulator.uploadState(written!.uploadId)).toBe('open')
  // The outputs name that very upload: the abort the cleanup step would send is accepted.
  holdAfterStart = false
  emulator.setLatency(0)
  const abort = await fetch(`${emulator.url}/api/v2/synthetics/tests/${TEST_ID}/files/multipart-upload-abort`, {
    method: 'POST',
    headers: {
      'DD-API-KEY': DEFAULT_KEYS.apiKey,
      'DD-APPLICATION-KEY': DEFAULT_KEYS.appKey,
      'Content-Type': 'application/json'
    },
    body: JSON.stringify({ key: written!.key, uploadId: written!.uploadId })
  })
  expect(abort.status).toBe(204)
  expect(emulator.uploadState(written!.uploadId)).toBe('aborted')
})

test("fails with Datadog's answer, and writes no outputs, when the keys are refused", async () => {
  writeFileSync(join(dir, 'file.bin'), 'x')

  const run = await runScript('file.bin', undefined, { DD_API_KEY: 'wrong', DD_APP_KEY: 'wrong' })

  expect(run.code).toBe(1)
  expect(run.stderr).toContain('multipart-presigned-urls answered 403')
  expect(readOrEmpty(join(dir, 'output'))).toBe('')
})
