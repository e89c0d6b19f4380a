import { closeSync, mkdtempSync, openSync, writeSync } from 'node:fs'
import { EOL, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import * as core from '@actions/core'
import type { AbortReason } from '../transport/failures.js'
import { createTransport } from '../transport/send.js'
import type { UploadResult } from '../abort/outcomes.js'
import { createRedactor, secretsOf, type Redact } from '../text/redact.js'
import { resultEntry, type Report } from '../report/report.js'
import { runAll } from '../abort/batch.js'
import type { Settings } from '../settings/settings.js'
import { oneLine } from '../text/text.js'

// What both actions' shells do around the core: mask the secrets, hold the
// signals, run the aborts within the deadline, and write a report.

// Past the deadline or a signal, the step ends even if something refuses to stop.
const GRACE_MS = 900

/** Ends the process a little after a signal or the deadline, unless the run is over by then. */
interface Fallback {
  readonly arm: () => void
  readonly disarm: () => void
}

/** What a step's body gets: a controller a signal aborts, and the exit fallback. */
export interface Held {
  readonly stop: AbortController
  readonly fallback: Fallback
}

/**
 * Runs a step's body with SIGINT and SIGTERM held until it resolves: a
 * signal aborts the work, and any further one (a runner sends both when it
 * cancels) finds a listener and cannot end the process before the outputs
 * and the summary are out.
 */
export async function holdingSignals(body: (held: Held) => Promise<void>): Promise<void> {
  const stop = new AbortController()
  const fallback = exitFallback()
  const onSignal = (): void => {
    stop.abort('cancelled' satisfies AbortReason)
    fallback.arm()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    await body({ stop, fallback })
  } finally {
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
  }
}

function exitFallback(): Fallback {
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

/**
 * Masks the keys and the access token before anything can print them (the
 * inputs and their fallbacks, whichever is used), and returns the last net
 * every printed text goes through: whatever a server or an input carried in,
 * no piece of a secret leaves through a line, an output or the summary.
 */
export function maskSecrets(): Redact {
  const secrets = secretsOf([
    core.getInput('api-key'),
    core.getInput('app-key'),
    core.getInput('access-token'),
    process.env.DD_API_KEY,
    process.env.DD_APP_KEY,
    process.env.DD_BEARER_TOKEN
  ])
  for (const secret of secrets) core.setSecret(secret)
  return createRedactor(secrets).redact
}

export interface Execution extends Held {
  /** When the step began: the deadline is `timeout` after it. */
  readonly started: number
  readonly log: (line: string) => void
  readonly redact: Redact
}

// Each result costs a little to report once the work stops (its log line,
// its entry in the results file and outputs): a batch of thousands keeps
// that time back from its timeout, so that the step still ends within its
// bound on a busy runner.
const REPORT_MS_PER_UPLOAD = 0.05

function reportReserveMs(uploads: number): number {
  return Math.round(uploads * REPORT_MS_PER_UPLOAD)
}

/** Aborts the uploads of the settings within their deadline, stopping when `stop` fires. */
export async function execute(settings: Settings, execution: Execution): Promise<UploadResult[]> {
  const { stop, fallback } = execution
  const deadline = execution.started + settings.timeoutMs - reportReserveMs(settings.uploads.length)
  const deadlineTimer = setTimeout(
    () => {
      stop.abort('deadline' satisfies AbortReason)
      fallback.arm()
    },
    Math.max(0, deadline - Date.now())
  )
  deadlineTimer.unref()

  const transport = createTransport()
  try {
    return await runAll(
      settings,
      { send: transport.send, log: execution.log, redact: execution.redact, now: Date.now, random: Math.random, sleep },
      stop.signal,
      deadline
    )
  } finally {
    // Ends every connection, those still opening included, so the process exits with its report.
    transport.close()
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

// A batch's lines and results are written this much at a time.
const WRITE_CHUNK_CHARS = 64 * 1024

/**
 * Every result, as the `results` output lists them, in a JSON file under
 * RUNNER_TEMP: the outputs and the summary carry only what GitHub keeps.
 * Written 64 KiB at a time: a large batch is neither one large string nor ten
 * thousand writes.
 * Returns its path, or '' when it could not be written.
 */
export function writeResultsFile(results: readonly UploadResult[], redact: Redact): string {
  try {
    const dir = mkdtempSync(join(process.env.RUNNER_TEMP || tmpdir(), 'datadog-abort-upload-'))
    const path = join(dir, 'results.json')
    const fd = openSync(path, 'w')
    try {
      let chunk = ''
      results.forEach((r, i) => {
        chunk += `${i === 0 ? '[' : ','}\n${redact(JSON.stringify(resultEntry(r)))}`
        if (chunk.length < WRITE_CHUNK_CHARS) return
        writeSync(fd, chunk)
        chunk = ''
      })
      writeSync(fd, chunk + (results.length === 0 ? '[]\n' : '\n]\n'))
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
export async function writeReport(report: Report, redact: Redact): Promise<void> {
  // Plain lines go out a chunk at a time: ten thousand of them are a few writes, not ten thousand.
  let lines: string[] = []
  let chars = 0
  const flush = (): void => {
    if (lines.length > 0) core.info(lines.join(EOL))
    lines = []
    chars = 0
  }
  for (const m of report.messages) {
    if (m.level === 'info') {
      lines.push(redact(m.text))
      if ((chars += m.text.length) >= WRITE_CHUNK_CHARS) flush()
      continue
    }
    flush()
    core[m.level](redact(m.text), { title: m.title === undefined ? undefined : redact(m.title) })
  }
  flush()
  for (const [name, value] of Object.entries(report.outputs)) core.setOutput(name, redact(value))
  if (process.env.GITHUB_STEP_SUMMARY) {
    try {
      await core.summary.addRaw(redact(report.summary)).write()
    } catch (error) {
      core.warning(`Could not write the job summary: ${oneLine((error as Error).message, 200)}`)
    }
  }
  if (report.failure !== undefined) core.setFailed(redact(report.failure))
}
