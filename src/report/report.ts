import { countOutcomes, failsStep, type UploadResult } from '../abort/outcomes.js'
import { renderInputErrors, renderSummary } from './summary.js'
import { elapsed, oneLine } from '../text/text.js'

// What the step says about a run, as plain values: the shell prints the
// messages in order, sets the outputs, writes the summary and fails the step
// with the failure line.

interface Message {
  readonly level: 'info' | 'warning' | 'error'
  readonly text: string
  /** The annotation's title, for warnings and errors. */
  readonly title?: string
}

export interface Report {
  /** In the order they are printed. */
  readonly messages: readonly Message[]
  readonly outputs: Readonly<Record<string, string>>
  /** Markdown for the job summary. */
  readonly summary: string
  /** The line the step fails with; undefined when it succeeds. */
  readonly failure?: string
}

/** What a report needs to know about the run beyond its results. */
export interface RunFacts {
  readonly batch: boolean
  readonly dryRun: boolean
  readonly siteLabel: string
  readonly tookMs: number
  /** Where the shell writes every result (see resultEntry); '' when it could not. */
  readonly resultsFile: string
}

// GitHub keeps at most 1 MiB of outputs per job and drops a job summary over
// 1 MiB: the two lists get a share each, whole entries only, and say where
// the rest is.
const RESULTS_OUTPUT_BYTES = 512 * 1024
const ERRORS_OUTPUT_BYTES = 256 * 1024

// GitHub shows about ten annotations of a kind per step; past that, the
// log keeps the rest and the final failure stays visible.
const MAX_ANNOTATIONS = 9
const MAX_FAILURE_LINES = 50

/** The report of a step that stopped at its inputs: nothing was sent. */
export function reportInvalidInputs(errors: readonly string[], dryRun: boolean): Report {
  return {
    messages: capAnnotations(errors.map(text => ({ level: 'error', text, title: 'Invalid input' }))),
    outputs: outputsOf([], { batch: true, dryRun, errors, resultsFile: '' }).outputs,
    summary: renderInputErrors(errors),
    failure: `${errors.length} input problem(s), listed above; no request was sent.`
  }
}

export function reportResults(results: readonly UploadResult[], facts: RunFacts): Report {
  const failures = results.filter(failsStep)
  const counts = countOutcomes(results)
  const messages: Message[] = []
  for (const r of results) {
    const upload = oneLine(r.upload.uploadId, 80)
    if (r.warning) messages.push({ level: 'warning', text: r.warning, title: `Upload ${upload}` })
    if (failsStep(r)) {
      // A single upload's failure line carries these: a second annotation would only repeat it.
      if (!facts.batch) continue
      const title = r.status ? `Datadog ${r.status} for upload ${upload}` : `Upload ${upload}`
      for (const text of r.errors) messages.push({ level: 'error', text, title })
    } else {
      messages.push({ level: 'info', text: r.message })
    }
  }
  const { outputs, listed: inResults } = outputsOf(results, { ...facts, errors: failures.flatMap(r => r.errors) })
  const report = { outputs, summary: renderSummary(results, facts.siteLabel, facts.dryRun, facts.resultsFile) }
  if (inResults < results.length) {
    const where = facts.resultsFile
      ? `the whole list is in ${facts.resultsFile} (the results-file output)`
      : 'the rest is in the log'
    messages.push({
      level: 'info',
      text: `The results output holds the first ${inResults} of ${results.length} uploads (GitHub keeps at most 1 MiB of outputs); ${where}.`
    })
  }
  const capped = capAnnotations(messages)
  if (failures.length === 0) {
    const done = facts.dryRun
      ? `Dry run: ${counts['dry-run']} upload(s) would be aborted, in ${elapsed(facts.tookMs)}.`
      : `Done: ${tally(counts)}, in ${elapsed(facts.tookMs)}.`
    const closing: Message[] = facts.batch || facts.dryRun ? [{ level: 'info', text: done }] : []
    return { ...report, messages: [...capped, ...closing] }
  }
  if (!facts.batch && results[0]) {
    const only = results[0]
    return { ...report, messages: capped, failure: failureLine(only) }
  }
  const listed: Message[] = failures
    .slice(0, MAX_FAILURE_LINES)
    .map(r => ({ level: 'info', text: `Failed: ${r.message}${r.hint ? ' ' + r.hint : ''}` }))
  if (failures.length > MAX_FAILURE_LINES) {
    listed.push({
      level: 'info',
      text: `... and ${failures.length - MAX_FAILURE_LINES} more failures: see the results output.`
    })
  }
  return {
    ...report,
    messages: [...capped, ...listed],
    failure: `${failures.length} of ${results.length} uploads could not be aborted (${tally(counts)}); see the errors above and the results output.`
  }
}

/** What happened, what the server said that the message does not, and what to check. */
function failureLine(r: UploadResult): string {
  const unsaid = r.errors.filter(e => !says(r.message, e))
  const source = r.status === undefined ? 'Details' : 'Datadog said'
  const said = unsaid.length > 0 ? `${source}: ${unsaid.join('; ')}` : ''
  return [r.message, said && (/[.!?]$/.test(said) ? said : `${said}.`), r.hint].filter(Boolean).join(' ')
}

/** Whether `text` holds `part` as whole words: "403 Forbidden" says "Forbidden", "not" does not say "no". */
function says(text: string, part: string): boolean {
  for (let at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + 1)) {
    const before = text.charAt(at - 1)
    const after = text.charAt(at + part.length)
    if (!/\w/.test(before) && !/\w/.test(after)) return true
  }
  return false
}

function tally(counts: ReturnType<typeof countOutcomes>): string {
  const unconfirmed = counts.unconfirmed ? `, ${counts.unconfirmed} unconfirmed` : ''
  return `${counts.aborted} aborted, ${counts['not-found']} not found${unconfirmed}`
}

/** Past the cap, warnings and errors go to the log as plain lines. */
function capAnnotations(messages: readonly Message[]): Message[] {
  const shown = { error: 0, warning: 0, info: 0 }
  return messages.map(m => {
    if (m.level === 'info' || shown[m.level]++ < MAX_ANNOTATIONS) return m
    return { level: 'info', text: `${m.level === 'error' ? 'Error' : 'Warning'} (${m.title ?? ''}): ${m.text}` }
  })
}

/** Every declared output, whatever happened, so later steps can branch on them; `listed` results made it into `results`. */
function outputsOf(
  results: readonly UploadResult[],
  facts: { batch: boolean; dryRun: boolean; errors: readonly string[]; resultsFile: string }
): { outputs: Record<string, string>; listed: number } {
  const counts = countOutcomes(results)
  const only = facts.batch ? undefined : results[0]
  const listed = jsonListWithin(results.map(resultEntry), RESULTS_OUTPUT_BYTES)
  const outputs = {
    status: only?.status === undefined ? '' : String(only.status),
    aborted: String(results.length > 0 && counts.aborted === results.length),
    errors: jsonListWithin(facts.errors, ERRORS_OUTPUT_BYTES).json,
    attempts: String(results.reduce((sum, r) => sum + r.attempts, 0)),
    'aborted-count': String(counts.aborted),
    'not-found-count': String(counts['not-found']),
    'unconfirmed-count': String(counts.unconfirmed),
    'failed-count': String(counts.failed + counts.cancelled),
    'dry-run': String(facts.dryRun),
    results: listed.json,
    'results-file': facts.resultsFile
  }
  return { outputs, listed: listed.count }
}

/** One upload as the `results` output and the results file list it. */
export function resultEntry(r: UploadResult): Record<string, unknown> {
  return {
    testId: r.upload.testId,
    key: r.upload.key,
    uploadId: r.upload.uploadId,
    status: r.status ?? null,
    outcome: r.outcome,
    kind: r.kind ?? null,
    attempts: r.attempts,
    errors: r.errors
  }
}

/** A JSON array of the first items that fit in `maxBytes` (UTF-8), whole items only. */
function jsonListWithin(items: readonly unknown[], maxBytes: number): { json: string; count: number } {
  const parts: string[] = []
  let bytes = 2
  for (const item of items) {
    const part = JSON.stringify(item)
    const size = Buffer.byteLength(part, 'utf8') + (parts.length > 0 ? 1 : 0)
    if (bytes + size > maxBytes) break
    parts.push(part)
    bytes += size
  }
  return { json: `[${parts.join(',')}]`, count: parts.length }
}
