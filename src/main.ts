import { setTimeout as delay } from 'node:timers/promises'
import * as core from '@actions/core'
import { elapsed, type UploadResult } from './abort.js'
import { userAgent } from './datadog.js'
import { readBoundedFile } from './files.js'
import { createTransport } from './http.js'
import { INPUT_NAMES, LIMITS, parseInputs, type RawInputs, type Settings } from './inputs.js'
import { runAll } from './run.js'
import { renderInputErrors, renderSummary } from './summary.js'
import { oneLine, redact } from './text.js'

// Past the deadline, the step ends even if something refuses to stop.
const GRACE_MS = 900

/** The shell: reads inputs, runs the core, reports. Resolves when everything is written. */
export async function run(): Promise<void> {
  // Masked before anything can print them: the inputs and their fallbacks.
  const secrets = [core.getInput('api-key'), core.getInput('app-key'), process.env.DD_API_KEY, process.env.DD_APP_KEY]
    .map(s => (s ?? '').trim())
    .filter(s => s !== '')
  for (const secret of secrets) core.setSecret(secret)

  const raw: RawInputs = Object.fromEntries(INPUT_NAMES.map(name => [name, core.getInput(name)]))
  const parsed = parseInputs(raw, process.env, path => readBoundedFile(path, LIMITS.uploadsFileBytes))
  for (const warning of parsed.warnings) core.warning(redact(warning, secrets))
  if (!parsed.ok) {
    for (const error of parsed.errors) core.error(redact(error, secrets), { title: 'Invalid input' })
    setOutputs({
      status: '',
      aborted: 'false',
      errors: JSON.stringify(parsed.errors.map(e => redact(e, secrets))),
      attempts: '0'
    })
    await writeSummary(renderInputErrors(parsed.errors.map(e => redact(e, secrets))))
    core.setFailed(`${parsed.errors.length} input problem(s), listed above; no request was sent.`)
    return
  }
  await execute(parsed.settings)
}

async function execute(settings: Settings): Promise<void> {
  const started = Date.now()
  const deadline = started + settings.timeoutMs
  const controller = new AbortController()
  const onSignal = (): void => {
    controller.abort('cancelled')
    // Whatever is still pending, the step is over within a second.
    setTimeout(() => process.exit(1), GRACE_MS).unref()
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const deadlineTimer = setTimeout(() => {
    controller.abort('deadline')
    setTimeout(() => process.exit(1), GRACE_MS).unref()
  }, settings.timeoutMs)
  deadlineTimer.unref()

  const transport = createTransport(userAgent())
  let results: UploadResult[]
  try {
    results = await runAll(
      settings,
      {
        send: transport.send,
        log: line => core.info(line),
        now: Date.now,
        random: Math.random,
        sleep: sleep
      },
      controller.signal,
      deadline
    )
  } finally {
    try {
      transport.close()
    } catch {
      // Closing idle connections is housekeeping; the process exits anyway.
    }
    clearTimeout(deadlineTimer)
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
  }
  await report(settings, results, Date.now() - started)
}

async function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await delay(ms, undefined, { signal })
    return true
  } catch {
    return false
  }
}

// GitHub shows about ten annotations of a kind per step; past that, the
// log keeps the rest and the final failure stays visible.
const MAX_ANNOTATIONS = 9
const MAX_FAILURE_LINES = 50

async function report(settings: Settings, results: UploadResult[], tookMs: number): Promise<void> {
  const failures = results.filter(r => r.outcome === 'failed' || r.outcome === 'cancelled')
  const shown = { error: 0, warning: 0 }
  const annotate = (kind: 'error' | 'warning', text: string, title: string): void => {
    if (shown[kind]++ < MAX_ANNOTATIONS) core[kind](text, { title })
    else core.info(`${kind === 'error' ? 'Error' : 'Warning'} (${title}): ${text}`)
  }
  for (const r of results) {
    const upload = oneLine(r.upload.uploadId, 80)
    if (r.warning) annotate('warning', r.warning, `Upload ${upload}`)
    if (r.outcome === 'failed' || r.outcome === 'cancelled') {
      const title = r.status ? `Datadog ${r.status} for upload ${upload}` : `Upload ${upload}`
      for (const error of r.errors) annotate('error', error, title)
    } else {
      core.info(r.message)
    }
  }

  const count = (outcome: UploadResult['outcome']): number => results.filter(r => r.outcome === outcome).length
  const only = settings.batch ? undefined : results[0]
  setOutputs({
    status: only?.status === undefined ? '' : String(only.status),
    aborted: String(results.length > 0 && results.every(r => r.outcome === 'aborted')),
    errors: JSON.stringify(failures.flatMap(r => r.errors)),
    attempts: String(results.reduce((sum, r) => sum + r.attempts, 0)),
    'aborted-count': String(count('aborted')),
    'not-found-count': String(count('not-found')),
    'failed-count': String(failures.length),
    'dry-run': String(settings.dryRun),
    results: JSON.stringify(
      results.map(r => ({
        testId: r.upload.testId,
        key: r.upload.key,
        uploadId: r.upload.uploadId,
        status: r.status ?? null,
        outcome: r.outcome,
        attempts: r.attempts,
        errors: r.errors
      }))
    )
  })

  await writeSummary(renderSummary(results, settings.siteLabel, settings.dryRun))

  if (failures.length === 0) {
    if (settings.batch || settings.dryRun) {
      core.info(
        `${settings.dryRun ? 'Dry run' : 'Done'}: ${count('aborted')} aborted, ${count('not-found')} not found, ${count('dry-run')} dry run, in ${elapsed(tookMs)}.`
      )
    }
    return
  }
  if (only) {
    core.setFailed([only.message, only.hint].filter(Boolean).join(' '))
    return
  }
  for (const r of failures.slice(0, MAX_FAILURE_LINES)) core.info(`Failed: ${r.message}${r.hint ? ' ' + r.hint : ''}`)
  if (failures.length > MAX_FAILURE_LINES) {
    core.info(`... and ${failures.length - MAX_FAILURE_LINES} more failures: see the results output.`)
  }
  core.setFailed(
    `${failures.length} of ${results.length} uploads could not be aborted (${count('aborted')} aborted, ${count('not-found')} not found); see the errors above and the results output.`
  )
}

async function writeSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return
  try {
    await core.summary.addRaw(markdown).write()
  } catch (error) {
    core.warning(`Could not write the job summary: ${oneLine((error as Error).message, 200)}`)
  }
}

function setOutputs(outputs: Record<string, string>): void {
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value)
}
