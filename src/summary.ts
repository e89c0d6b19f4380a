import { countOutcomes, failsStep, type UploadResult } from './outcomes.js'
import { markdownCell, markdownCellWithCode } from './text.js'

const MAX_ROWS = 500
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
      ...errors.map(e => `- ${markdownCellWithCode(e, 600)}`)
    ].join('\n') + '\n'
  )
}

/** The job summary: what was aborted, where, and how it went. */
export function renderSummary(results: readonly UploadResult[], siteLabel: string, dryRun: boolean): string {
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
  for (const r of results.slice(0, MAX_ROWS)) {
    // Datadog's words are escaped whole; the hint is the action's own, code and all.
    const hint = failsStep(r) ? (r.hint ?? '') : ''
    const details = [markdownCell(r.errors.join('; '), 400), markdownCellWithCode(hint, 400)].filter(Boolean).join('; ')
    lines.push(
      `| ${markdownCell(r.upload.testId)} | ${markdownCell(r.upload.uploadId, 80)} | ${markdownCell(r.upload.key, 120)} | ${ICONS[r.outcome]} | ${r.status ?? ''} | ${r.attempts} | ${details} |`
    )
  }
  if (results.length > MAX_ROWS)
    lines.push('', `(${results.length - MAX_ROWS} more uploads: see the \`results\` output.)`)
  return lines.join('\n') + '\n'
}
