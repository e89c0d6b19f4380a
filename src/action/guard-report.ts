import type { UploadResult } from '../abort/outcomes.js'
import { reportResults, type Report, type RunFacts } from '../report/report.js'
import { markdownCell } from '../text/text.js'

// What the guard's post step says: the batch report of its aborts, plus the
// manifest values it could not read, each of which may have started an
// upload that is still open.

const MAX_LISTED = 9

export function reportCleanup(
  results: readonly UploadResult[],
  facts: RunFacts,
  manifestErrors: readonly string[]
): Report {
  const base = reportResults(results, facts)
  // A post step's outputs reach no later step.
  if (manifestErrors.length === 0) return { ...base, outputs: {} }
  const shown = manifestErrors.slice(0, MAX_LISTED)
  const more = manifestErrors.length - shown.length
  const unread = `${manifestErrors.length} value(s) of the manifest could not be read: an upload one of them started may still hold storage.`
  return {
    messages: [
      ...shown.map(text => ({ level: 'error' as const, text, title: 'Unreadable manifest value' })),
      ...(more > 0 ? [{ level: 'info' as const, text: `... and ${more} more unreadable values.` }] : []),
      ...base.messages
    ],
    outputs: {},
    summary: [base.summary, `❌ ${unread}`, '', ...shown.map(e => `- ${markdownCell(e, 600)}`), ''].join('\n'),
    failure: [base.failure, unread].filter(Boolean).join(' ')
  }
}
