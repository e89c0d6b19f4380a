import { countOutcomes, failsStep, type UploadResult } from '../abort/outcomes.js'
import { markdownCell, markdownCellWithCode } from '../text/text.js'

const MAX_ROWS = 500
// GitHub drops a job summary over 1 MiB; rows stop well before.
const MAX_SUMMARY_BYTES = 512 * 1024
const TITLE = '### Datadog Synthetics: abort multipart upload'

const ICONS: Record<UploadResult['outcome'], string> = {
  aborted: '✅ aborted',
  'not-found': '⚪ not found',
  unconfirmed: '❔ unconfirmed',
  failed: '❌ failed',
  cancelled: '⛔ cancelled',
  'dry-run': '🔎 dry run'
}

/** The job summary of a step that stopped at its inputs. */
export function renderInputErrors(errors: readonly string[]): string {
  return (
    [
      TITLE,
      '',
      '❌ Invalid inputs: no request was sent.',
      '',
      // Input errors quote what was given: shown literally, like server text.
      ...errors.map(e => `- ${markdownCell(e, 600)}`)
    ].join('\n') + '\n'
  )
}

/** The job summary: what was aborted, where, and how it went. */
export function renderSummary(
  results: readonly UploadResult[],
  siteLabel: string,
  dryRun: boolean,
  resultsFile = ''
): string {
  const count = countOutcomes(results)
  const failed = results.filter(failsStep).length
  const headline = dryRun
    ? `🔎 Dry run: ${results.length} upload(s) would be aborted; nothing was sent.`
    : failed > 0
      ? `❌ ${failed} of ${results.length} upload(s) could not be aborted.`
      : `✅ ${count.aborted} upload(s) aborted${count['not-found'] ? `, ${count['not-found']} already gone` : ''}${count.unconfirmed ? `, ${count.unconfirmed} gone without confirmation` : ''}.`
  const lines = [
    TITLE,
    '',
    headline,
    '',
    `Site: ${markdownCell(siteLabel)}`,
    '',
    '| Test | Upload ID | Key | Result | Status | Attempts | Details |',
    '| --- | --- | --- | --- | --- | --- | --- |'
  ]
  let bytes = Buffer.byteLength(lines.join('\n'), 'utf8')
  let rows = 0
  for (const r of results.slice(0, MAX_ROWS)) {
    // Datadog's words are shown literally; the hint is the action's own, code and all.
    const hint = failsStep(r) ? (r.hint ?? '') : ''
    const details = [markdownCell(r.errors.join('; '), 400), markdownCellWithCode(hint, 400)].filter(Boolean).join('; ')
    const row = `| ${markdownCell(r.upload.testId)} | ${markdownCell(r.upload.uploadId, 80)} | ${markdownCell(r.upload.key, 120)} | ${ICONS[r.outcome]} | ${r.status ?? ''} | ${r.attempts} | ${details} |`
    bytes += Buffer.byteLength(row, 'utf8') + 1
    if (bytes > MAX_SUMMARY_BYTES) break
    lines.push(row)
    rows++
  }
  if (results.length > rows) {
    const where = resultsFile ? `the \`results-file\` output names a file with all of them` : 'see the `results` output'
    lines.push('', `(${results.length - rows} more uploads not shown: ${where}.)`)
  }
  return lines.join('\n') + '\n'
}
