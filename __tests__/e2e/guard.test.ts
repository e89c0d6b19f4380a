// The guard as a runner runs it: main step, the job's upload steps with the
// environment it exported, then the post step of a failed or cancelled job.
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { EmulatorClient } from '../../emulator/client.ts'
import { DEFAULT_KEYS, DEFAULT_TOKEN, startEmulator, STORAGE_KINDS, type Emulator } from '../../emulator/server.ts'
import { guardInputs, guardMain, guardPost, KILLED_UPLOAD_STEP, runStep, type GuardStep } from '../support/guard-job.ts'
import { annotations, leakedSecrets, ROOT, testedGuardBundle, tokenInputs, type RunResult } from '../support/runner.ts'

const KEYS = [DEFAULT_KEYS.apiKey, DEFAULT_KEYS.appKey]
let emulator: Emulator
let dir: string
let step: GuardStep

beforeEach(async () => {
  emulator = await startEmulator()
  dir = mkdtempSync(join(tmpdir(), 'guard-e2e-'))
  step = { inputs: guardInputs(emulator.url, { timeout: '10' }), runnerTemp: dir }
})
afterEach(async () => {
  await emulator.close()
  rmSync(dir, { recursive: true, force: true })
})

/** Environment of the job's `run:` steps: what the guard exported, and the upload script's settings. */
const stepEnv = (main: RunResult): Record<string, string> => ({
  ...main.exported,
  DD_API_KEY: DEFAULT_KEYS.apiKey,
  DD_APP_KEY: DEFAULT_KEYS.appKey,
  DD_API_URL: emulator.url
})

function uploadIdsOf(manifest: string): string[] {
  return [...manifest.matchAll(/"upload_id":"([^"]+)"/g)].map(m => m[1] ?? '')
}

// The upload script's upload is the completed one, on each storage Datadog's sites use.
test.each(STORAGE_KINDS)('%s: one completed, two open, one cut off by SIGKILL: post aborts 3', async storage => {
  emulator.setStorage(storage)
  const main = await guardMain(step)
  expect(main.code).toBe(0)
  const manifest = main.outputs['uploads-file'] ?? ''
  expect(manifest.startsWith(dir)).toBe(true)
  // The script shipped with the action, in the action's folder wherever it is kept: here a copy outside the workspace.
  const actionDir = resolve(dirname(testedGuardBundle()), '..', '..')
  expect(main.exported).toEqual({
    DD_SYNTHETICS_UPLOADS_FILE: manifest,
    DD_SYNTHETICS_UPLOAD_SCRIPT: join(actionDir, 'examples', 'upload-test-file.sh')
  })
  expect(relative(ROOT, actionDir).startsWith('..')).toBe(true)
  expect(readFileSync(manifest, 'utf8')).toBe('')

  const upload = await runStep(KILLED_UPLOAD_STEP, [], {
    cwd: dir,
    env: stepEnv(main),
    killWhen: stderr => stderr.includes('half written')
  })
  expect(upload.signal).toBe('SIGKILL')
  const written = readFileSync(manifest, 'utf8')
  expect(written).toContain('}{"bucketKey"')
  const [completed, ...open] = uploadIdsOf(written)
  expect(open).toHaveLength(3)
  expect(emulator.uploadState(completed ?? '')).toBe('completed')
  expect(emulator.openUploads()).toBe(3)

  const post = await guardPost(step, main)
  expect(post.code).toBe(0)
  expect(emulator.openUploads()).toBe(0)
  expect(emulator.uploadState(completed ?? '')).toBe('completed')
  expect(emulator.abortRequests()).toHaveLength(3)
  for (const id of open) {
    expect(emulator.uploadState(id)).toBe('aborted')
    expect(post.stdout).toMatch(new RegExp(`Aborted upload ${id} of test abc-def-123`))
  }
  expect(post.stdout).toContain('1 upload marked completed: left alone.')
  expect(annotations(post, 'warning').join('\n')).toMatch(/value 5 .*stops in the middle: it ends with/)
  expect(post.summary).toContain('✅ 3 upload(s) aborted')
  for (const result of [main, post]) expect(leakedSecrets(result, KEYS)).toEqual([])
  for (const key of KEYS) expect(readFileSync(manifest, 'utf8')).not.toContain(key)
})

test('with an access token: main and post need no key, post sends the bearer token alone, and masks it first', async () => {
  const withToken = { ...step, inputs: { ...step.inputs, ...tokenInputs() } }
  const main = await guardMain(withToken)
  expect(main.code).toBe(0)
  expect(main.stdout.indexOf(`::add-mask::${DEFAULT_TOKEN.token}`)).toBe(0)
  const manifest = main.outputs['uploads-file'] ?? ''
  const uploads = [1, 2].map(() => emulator.startUpload('abc-def-123'))
  writeFileSync(manifest, uploads.map(u => JSON.stringify({ key: u.key, uploadId: u.uploadId }) + '\n').join(''))

  const post = await guardPost(withToken, main)
  expect(post.code).toBe(0)
  for (const u of uploads) expect(emulator.uploadState(u.uploadId)).toBe('aborted')
  const sent = emulator
    .abortRequests()
    .map(r => [r.headers['authorization'], r.headers['dd-api-key'], r.headers['dd-application-key']])
  expect(sent).toEqual(uploads.map(() => [`Bearer ${DEFAULT_TOKEN.token}`, undefined, undefined]))
  expect(post.stdout).toContain(`::add-mask::${DEFAULT_TOKEN.token}`)
  for (const result of [main, post]) {
    expect(annotations(result, 'warning')).toEqual([])
    expect(leakedSecrets(result, [DEFAULT_TOKEN.token])).toEqual([])
  }
  expect(readFileSync(manifest, 'utf8')).not.toContain(DEFAULT_TOKEN.token)
})

test('an upload script that never wrote anything: nothing to clean up', async () => {
  const main = await guardMain(step)
  const post = await guardPost(step, main)
  expect(post.code).toBe(0)
  expect(post.stdout).toContain('nothing to clean up')
  expect(emulator.abortRequests()).toHaveLength(0)
})

test.each(STORAGE_KINDS)('%s: a manifest made only of completion marks: nothing aborted', async storage => {
  emulator.setStorage(storage)
  const main = await guardMain(step)
  writeFileSync(join(dir, 'file.bin'), 'content')
  const run = await runStep(
    '"$DD_SYNTHETICS_UPLOAD_SCRIPT" abc-def-123 file.bin; "$DD_SYNTHETICS_UPLOAD_SCRIPT" abc-def-123 file.bin',
    [],
    {
      cwd: dir,
      env: stepEnv(main)
    }
  )
  expect(run.code).toBe(0)
  const seen = storage === 's3' ? 'S3-style' : 'Azure-style'
  expect(run.stderr.match(new RegExp(`^Completed upload \\S+ on ${seen} storage`, 'gm'))).toHaveLength(2)
  const post = await guardPost(step, main)
  expect(post.code).toBe(0)
  expect(post.stdout).toContain('2 uploads marked completed: left alone.')
  expect(post.stdout).toContain('nothing to clean up')
  expect(emulator.abortRequests()).toHaveLength(0)
})

test('bad inputs fail the main step, create no manifest, and the post step has nothing to do', async () => {
  const bad = {
    ...step,
    inputs: guardInputs(emulator.url, { 'api-url': '', site: 'datadoghq.nowhere', 'app-key': '' })
  }
  const main = await guardMain(bad)
  expect(main.code).toBe(1)
  const errors = annotations(main, 'error').join('\n')
  expect(errors).toContain('"site"')
  expect(errors).toContain('"app-key"')
  expect(main.exported).toEqual({})
  expect(main.state).toEqual({ isPost: 'true' })
  expect(readdirSync(dir)).toEqual([])
  const post = await guardPost(bad, main)
  expect(post.code).toBe(0)
  expect(post.stdout).toContain('nothing to clean up')
})

test('post cancelled with SIGINT: exits within a second, naming every upload it did not reach', async () => {
  const main = await guardMain(step)
  const manifest = main.outputs['uploads-file'] ?? ''
  const uploads = [1, 2, 3].map(() => emulator.startUpload('abc-def-123'))
  writeFileSync(manifest, uploads.map(u => JSON.stringify({ key: u.key, uploadId: u.uploadId })).join(''))
  emulator.setLatency(5_000)
  const post = await guardPost(step, main, {
    signal: { name: 'SIGINT', when: () => emulator.abortRequests().length > 0 },
    killAfterMs: 8_000
  })
  expect(post.killed).toBe(false)
  expect(post.code).not.toBe(0)
  // A second, with a wide margin for a loaded machine.
  expect(post.afterSignalMs).toBeLessThan(2_500)
  for (const u of uploads) {
    expect(post.stdout).toMatch(new RegExp(`Failed: (Upload|Stopped aborting upload) ${u.uploadId} .*cancelled`))
    expect(emulator.uploadState(u.uploadId)).toBe('open')
  }
})

test('an upload already gone (404) counts as not found; a refused abort fails the step and names the upload', async () => {
  const main = await guardMain(step)
  const manifest = main.outputs['uploads-file'] ?? ''
  const gone = emulator.startUpload('abc-def-123')
  const refused = emulator.startUpload('abc-def-123')
  await fetch(`${emulator.url}/api/v2/synthetics/tests/abc-def-123/files/multipart-upload-abort`, {
    method: 'POST',
    headers: { 'DD-API-KEY': KEYS[0] ?? '', 'DD-APPLICATION-KEY': KEYS[1] ?? '', 'Content-Type': 'application/json' },
    body: JSON.stringify({ key: gone.key, uploadId: gone.uploadId })
  })
  writeFileSync(
    manifest,
    [gone, refused].map(u => JSON.stringify({ key: u.key, uploadId: u.uploadId }) + '\n').join('')
  )
  // The first abort sent is the 404's; the second is refused.
  emulator.setFaults([
    { kind: 'status', status: 404 },
    { kind: 'status', status: 403 }
  ])
  const post = await guardPost(step, main)
  expect(post.code).toBe(1)
  expect(post.stdout).toMatch(new RegExp(`Failed: .*${refused.uploadId}`))
  expect(post.stdout).not.toMatch(new RegExp(`Failed: .*${gone.uploadId}`))
  expect(post.summary).toContain('⚪ not found')
  expect(existsSync(manifest)).toBe(true)
})

test('a refused start and an HTML error page appended as received are skipped with warnings; post aborts the rest', async () => {
  const main = await guardMain(step)
  const manifest = main.outputs['uploads-file'] ?? ''
  const client = new EmulatorClient(emulator.url)
  const refused = await client.call(
    'abc-def-123',
    'multipart-presigned-urls',
    {},
    { keys: { apiKey: 'wrong-key-0123456789', appKey: DEFAULT_KEYS.appKey } }
  )
  const started = await client.start('abc-def-123', ['part one'])
  appendFileSync(manifest, await refused.text())
  appendFileSync(manifest, '<html><title>502 Bad Gateway</title><body>nginx</body></html>\n')
  appendFileSync(manifest, JSON.stringify(started))
  const post = await guardPost(step, main)
  expect(post.code).toBe(0)
  const warnings = annotations(post, 'warning').join('\n')
  expect(warnings).toMatch(/error answer from Datadog .*started no upload/)
  expect(warnings).toMatch(/holds text that is not JSON .*skipped/)
  expect(annotations(post, 'error')).toEqual([])
  expect(emulator.uploadState(started.multipart_presigned_urls_params.upload_id)).toBe('aborted')
})

test('a manifest of 16 MiB of tiny values: post refuses it at the 10,001st, the rest never parsed, nothing sent', async () => {
  const quick = { ...step, inputs: guardInputs(emulator.url, { timeout: '1' }) }
  const main = await guardMain(quick)
  writeFileSync(main.outputs['uploads-file'] ?? '', '{}\n'.repeat(Math.floor((16 * 1024 * 1024) / 3)))
  const post = await guardPost(quick, main, {
    // Parsing every value took 1.5 GiB; reading up to the limit fits in a small heap.
    env: { NODE_OPTIONS: '--max-old-space-size=128' }
  })
  expect(post.killed).toBe(false)
  expect(post.stderr).not.toMatch(/heap out of memory/)
  expect(post.code).toBe(1)
  expect(annotations(post, 'error')).toContain(
    'DD_SYNTHETICS_UPLOADS_FILE has more than 10000 entries; at most 10000 are accepted in one step.'
  )
  expect(emulator.requests).toHaveLength(0)
})
