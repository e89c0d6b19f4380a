import { closeSync, mkdtempSync, openSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import * as core from '@actions/core'
import { readBoundedFile } from './files.js'
import { createTransport } from './http.js'
import { parseInputs } from './inputs.js'
import type { UploadResult } from './outcomes.js'
import { secretsOf, redact } from './redact.js'
import { reportInvalidInputs, reportResults, resultEntry, type Report } from './report.js'
import { runAll } from './run.js'
import { INPUT_NAMES, LIMITS, type RawInputs, type Settings } from './settings.js'
import { oneLine } from './text.js'

// Past the deadline, the step ends even if something refuses to stop.
const GRACE_MS = 900

/** The shell: reads inputs, runs the core, reports. Resolves when everything is written. */
export async function run(): Promise<void> {
  const stop = new AbortController()
  const fallback = exitFallback()
  // Held until the report is written: any further SIGINT or SIGTERM (a
  // runner sends both when it cancels) finds a listener and cannot end the
  // process before the outputs and the summary are out.
  const onSignal = (): void => {
    stop.abort('cancelled')
    fallback.arm()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    await runUntilWritten(stop, fallback)
  } finally {
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
  }
}

/** After a signal or the deadline, the step ends within a second even if something refuses to stop. */
function exitFallback(): { arm: () => void; disarm: () => void } {
  let timer: NodeJS.Timeout | undefined
  let disarmed = false
  return {
    arm: () => {
      if (timer || disarmed) return
      timer = setTimeout(() => process.exit(1), GRACE_MS)
      timer.unref()
    },
    // Once the run is over, writing the report is our own bounded work.
    disarm: () => {
      disarmed = true
      clearTimeout(timer)
    }
  }
}

async function runUntilWritten(stop: AbortController, fallback: ReturnType<typeof exitFallback>): Promise<void> {
  // Masked before anything can print them: the inputs and their fallbacks.
  const secrets = secretsOf([
    core.getInput('api-key'),
    core.getInput('app-key'),
    process.env.DD_API_KEY,
    process.env.DD_APP_KEY
  ])
  for (const secret of secrets) core.setSecret(secret)
  // The last net: whatever a server or an input carried in, no piece of a
  // key leaves through a line, an output or the summary.
  const hide = (text: string): string => redact(text, secrets)

  // The timeout counts from here: reading and parsing uploads-file is part of the step.
  const started = Date.now()
  const raw: RawInputs = Object.fromEntries(INPUT_NAMES.map(name => [name, core.getInput(name)]))
  const parsed = parseInputs(raw, process.env, path => readBoundedFile(path, LIMITS.uploadsFileBytes))
  for (const warning of parsed.warnings) core.warning(hide(warning))
  if (!parsed.ok) {
    const dryRun = raw['dry-run']?.trim().toLowerCase() === 'true'
    await write(reportInvalidInputs(parsed.errors, dryRun), hide)
    return
  }
  const results = await execute(parsed.settings, {
    started,
    controller: stop,
    fallback,
    log: line => core.info(hide(line))
  })
  const { batch, dryRun, siteLabel } = parsed.settings
  const tookMs = Date.now() - started
  const resultsFile = writeResultsFile(results, hide)
  await write(reportResults(results, { batch, dryRun, siteLabel, tookMs, resultsFile }), hide)
}

interface Execution {
  /** When the step began: the deadline is `timeout` after it. */
  readonly started: number
  readonly controller: AbortController
  readonly fallback: ReturnType<typeof exitFallback>
  readonly log: (line: string) => void
}

async function execute(settings: Settings, { started, controller, fallback, log }: Execution): Promise<UploadResult[]> {
  const deadline = started + settings.timeoutMs
  const deadlineTimer = setTimeout(
    () => {
      controller.abort('deadline')
      fallback.arm()
    },
    Math.max(0, deadline - Date.now())
  )
  deadlineTimer.unref()

  const transport = createTransport()
  try {
    return await runAll(
      settings,
      { send: transport.send, log, now: Date.now, random: Math.random, sleep },
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
    fallback.disarm()
  }
}

async function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await delay(ms, undefined, { signal })
    return true
  } catch {
    return false
  }
}

/**
 * Every result, as the `results` output lists them, in a JSON file under
 * RUNNER_TEMP: the outputs and the summary carry only what GitHub keeps.
 * Written one entry at a time, so a large batch is never one large string.
 * Returns its path, or '' when it could not be written.
 */
function writeResultsFile(results: readonly UploadResult[], hide: (text: string) => string): string {
  try {
    const dir = mkdtempSync(join(process.env.RUNNER_TEMP || tmpdir(), 'datadog-abort-upload-'))
    const path = join(dir, 'results.json')
    const fd = openSync(path, 'w')
    try {
      results.forEach((r, i) => writeSync(fd, `${i === 0 ? '[' : ','}\n${hide(JSON.stringify(resultEntry(r)))}`))
      writeSync(fd, results.length === 0 ? '[]\n' : '\n]\n')
    } finally {
      closeSync(fd)
    }
    return path
  } catch (error) {
    core.warning(`Could not write the results file: ${oneLine((error as Error).message, 200)}`)
    return ''
  }
}

/** Writes what the report says: log lines and annotations, outputs, summary, and the failure. */
async function write(report: Report, hide: (text: string) => string): Promise<void> {
  for (const m of report.messages) {
    if (m.level === 'info') core.info(hide(m.text))
    else core[m.level](hide(m.text), { title: m.title === undefined ? undefined : hide(m.title) })
  }
  for (const [name, value] of Object.entries(report.outputs)) core.setOutput(name, hide(value))
  if (process.env.GITHUB_STEP_SUMMARY) {
    try {
      await core.summary.addRaw(hide(report.summary)).write()
    } catch (error) {
      core.warning(`Could not write the job summary: ${oneLine((error as Error).message, 200)}`)
    }
  }
  if (report.failure !== undefined) core.setFailed(hide(report.failure))
}
