// npm run demo: opens a multipart upload in the local Datadog emulator, leaves
// it half-uploaded as a dead CI job would, then runs the bundled action
// against it exactly as a GitHub runner does and shows what a user would see.
// Then the guard: its main step, an upload script killed mid-write, and the
// post step that cleans up after it.
import { EmulatorClient, putPart } from '../emulator/client.ts'
import { DEFAULT_KEYS, startEmulator, type Emulator } from '../emulator/server.ts'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { guardInputs, guardMain, guardPost, KILLED_UPLOAD_STEP, runStep } from '../__tests__/support/guard-job.ts'
import { COMMITTED_BUNDLE, runAction, type RunResult } from '../__tests__/support/runner.ts'

const TEST_ID = 'abc-def-123'
const SECRETS = [DEFAULT_KEYS.apiKey, DEFAULT_KEYS.appKey]

async function openHalfDoneUpload(emulator: Emulator): Promise<{ key: string; uploadId: string }> {
  const parts = ['1', '2', '3'].map(n => Buffer.alloc(256 * 1024, n))
  const params = (await new EmulatorClient(emulator.url).start(TEST_ID, parts)).multipart_presigned_urls_params
  // Two of three parts go up; then the job "dies".
  for (const [i, part] of parts.slice(0, 2).entries()) await putPart(params.urls[String(i + 1)] as string, part)
  return { key: params.key, uploadId: params.upload_id }
}

/** The step log as the Actions UI shows it: masks applied, commands rendered. */
function stepLog(result: RunResult): string {
  const lines: string[] = []
  for (const raw of result.stdout.split('\n')) {
    if (raw === '' || raw.startsWith('::add-mask::') || raw.startsWith('::set-output')) continue
    let line = raw
    for (const secret of SECRETS) line = line.split(secret).join('***')
    const command = /^::(error|warning|notice)[^:]*::(.*)$/.exec(line)
    lines.push(
      command
        ? `${command[1] === 'error' ? 'Error' : command[1] === 'warning' ? 'Warning' : 'Notice'}: ${decodeURIComponent(command[2] ?? '')}`
        : line
    )
  }
  return lines.map(l => `  | ${l}`).join('\n')
}

function show(title: string, result: RunResult): void {
  console.log(`\n── ${title} ── exit code ${result.code}, ${result.durationMs} ms`)
  console.log('Step log:')
  console.log(stepLog(result))
  console.log('Outputs:')
  for (const [name, value] of Object.entries(result.outputs)) console.log(`  ${name} = ${value}`)
}

/** The guard against a fresh emulator: true when it left no upload open and the completed one alone. */
async function guardDemo(): Promise<boolean> {
  const emulator = await startEmulator()
  const runnerTemp = mkdtempSync(join(tmpdir(), 'guard-demo-'))
  try {
    console.log(`\n════ Guard mode: uses: .../guard, then an upload script that gets killed ════`)
    const step = {
      bundle: join(dirname(COMMITTED_BUNDLE), 'guard', 'index.js'),
      inputs: guardInputs(emulator.url),
      runnerTemp
    }
    const main = await guardMain(step)
    show('Guard, main step: node dist/guard/index.js', main)
    console.log(`Exported to later steps: ${JSON.stringify(main.exported)}`)

    const run = await runStep(KILLED_UPLOAD_STEP, [], {
      cwd: runnerTemp,
      killWhen: stderr => stderr.includes('half written'),
      env: {
        ...main.exported,
        DD_API_KEY: DEFAULT_KEYS.apiKey,
        DD_APP_KEY: DEFAULT_KEYS.appKey,
        DD_API_URL: emulator.url
      }
    })
    const manifest = readFileSync(main.outputs['uploads-file'] ?? '', 'utf8')
    console.log(
      `\n── Upload step: one upload completed, three started, killed by ${run.signal} while writing the last answer ──`
    )
    console.log(`Manifest (${manifest.length} characters), as the script left it, URLs cut short:`)
    console.log(`  | ${manifest.replace(/"urls":\{[^}]*\}/g, '"urls":{...}').replace(/\n/g, '\n  | ')}`)
    console.log(`Open uploads in the emulator: ${emulator.openUploads()}`)

    const post = await guardPost(step, main)
    show('Guard, post step (the job failed): node dist/guard/index.js with STATE_* set', post)
    console.log(`\nOpen uploads in the emulator now: ${emulator.openUploads()}`)
    return post.code === 0 && emulator.openUploads() === 0 && emulator.abortRequests().length === 3
  } finally {
    await emulator.close()
    rmSync(runnerTemp, { recursive: true, force: true })
  }
}

const emulator = await startEmulator()
let ok: boolean | undefined
try {
  const upload = await openHalfDoneUpload(emulator)
  console.log(`Local Datadog emulator on ${emulator.url}`)
  console.log(
    `Opened upload ${upload.uploadId} for test ${TEST_ID}: ${emulator.uploadState(upload.uploadId)}, ${emulator.storedBytes(upload.uploadId)} bytes held in 2 of 3 parts.`
  )

  const inputs = {
    'api-key': DEFAULT_KEYS.apiKey,
    'app-key': DEFAULT_KEYS.appKey,
    'api-url': emulator.url,
    'test-id': TEST_ID,
    key: upload.key,
    'upload-id': upload.uploadId
  }
  const first = await runAction({ bundle: COMMITTED_BUNDLE, inputs })
  show('Cleanup step: node dist/index.js (Node 24, as the runner starts it)', first)
  console.log('Job summary:')
  console.log(
    first.summary
      .trim()
      .split('\n')
      .map(l => `  ${l}`)
      .join('\n')
  )
  console.log(
    `\nUpload ${upload.uploadId} is now ${emulator.uploadState(upload.uploadId)}, ${emulator.storedBytes(upload.uploadId)} bytes held.`
  )

  const again = await runAction({ bundle: COMMITTED_BUNDLE, inputs })
  show('The same step again: the upload is gone, Datadog answers 404', again)
  const tolerant = await runAction({ bundle: COMMITTED_BUNDLE, inputs: { ...inputs, 'ignore-not-found': 'true' } })
  show('Again with ignore-not-found: true', tolerant)

  ok =
    first.code === 0 &&
    emulator.uploadState(upload.uploadId) === 'aborted' &&
    emulator.storedBytes(upload.uploadId) === 0 &&
    again.code === 1 &&
    tolerant.code === 0 &&
    (await guardDemo())
  console.log(ok ? '\nDemo finished as expected.' : '\nDemo did NOT behave as expected.')
} finally {
  await emulator.close()
}
process.exitCode = ok ? 0 : 1
