// examples/upload-test-file.sh, the upload script the README points to, run
// with bash against the emulator: a whole upload, and one killed right after
// it has told the cleanup step about the upload.
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_KEYS, startEmulator, type Emulator } from '../../emulator/server.ts'
import { runStep, type ScriptRun } from '../support/guard-job.ts'

const SCRIPT = fileURLToPath(new URL('../../examples/upload-test-file.sh', import.meta.url))
const TEST_ID = 'abc-def-123'
const PART_BYTES = 1000

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

test('uploads a file in parts, writes key and upload-id, and completes the upload', async () => {
  const content = Buffer.from(Array.from({ length: 2500 }, (_, i) => (i * 7) % 256))
  writeFileSync(join(dir, 'file.bin'), content)

  const run = await runScript('file.bin')

  expect(run.stderr).not.toContain(DEFAULT_KEYS.apiKey)
  expect(run.stderr).not.toContain(DEFAULT_KEYS.appKey)
  expect(run.code).toBe(0)
  const written = outputs()
  expect(written).toBeDefined()
  const { key, uploadId } = written!
  expect(key).toMatch(new RegExp(`^org-1/api-upload-file/${TEST_ID}/`))
  expect(emulator.uploadState(uploadId)).toBe('completed')
  expect(emulator.storedBytes(uploadId)).toBe(content.length)

  const start = emulator.requests.find(r => r.path.endsWith('/multipart-presigned-urls'))!
  const parts = [0, 1, 2].map(i => content.subarray(i * PART_BYTES, (i + 1) * PART_BYTES))
  expect(JSON.parse(start.body)).toEqual({
    bucketKeyPrefix: 'api-upload-file',
    parts: parts.map((part, i) => ({ md5: md5Base64(part), partNumber: i + 1 }))
  })

  const manifest = readFileSync(join(dir, 'uploads.jsonl'), 'utf8').trimEnd().split('\n')
  expect(manifest).toHaveLength(2)
  expect(JSON.parse(manifest[0]!).multipart_presigned_urls_params).toMatchObject({ key, upload_id: uploadId })
  // The completion mark: the guard leaves this upload alone.
  expect(JSON.parse(manifest[1]!)).toEqual({ completed: { key, uploadId } })
})

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
