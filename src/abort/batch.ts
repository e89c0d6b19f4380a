import { abortUpload, notAttempted, tooLateToBegin, type AbortContext, type AbortDeps } from './upload.js'
import { abortRequest } from '../datadog/request.js'
import type { UploadResult } from './outcomes.js'
import { RateGate } from './rate-gate.js'
import type { Settings, Upload } from '../settings/settings.js'

/** Aborts every upload of the settings: one directly, a batch through a shared rate gate. */
export async function runAll(
  settings: Settings,
  deps: AbortDeps,
  signal: AbortSignal,
  deadline: number
): Promise<UploadResult[]> {
  if (settings.dryRun) return settings.uploads.map(upload => dryRun(settings, upload, deps))
  const base: AbortContext = {
    baseUrl: settings.baseUrl,
    credentials: settings.credentials,
    siteLabel: settings.siteLabel,
    maxRetries: settings.maxRetries,
    ignoreNotFound: settings.ignoreNotFound,
    deadline,
    signal
  }
  const uploads = settings.uploads
  if (!settings.batch) return Promise.all(uploads.map(upload => abortUpload(upload, base, deps)))

  const ctx: AbortContext = { ...base, gate: new RateGate({ now: deps.now, sleep: deps.sleep, deadline }) }
  let next = 0
  const results: UploadResult[] = new Array<UploadResult>(uploads.length)
  // The first answer tells the rate limit; sending it alone keeps the
  // opening burst from running into a limit nobody knows yet.
  const first = uploads[0]
  if (first) results[next++] = await abortUpload(first, ctx, deps)
  const worker = async (): Promise<void> => {
    while (next < uploads.length && !tooLateToBegin(ctx, deps.now())) {
      const index = next++
      const upload = uploads[index]
      if (upload) results[index] = await abortUpload(upload, ctx, deps)
    }
  }
  await Promise.all(Array.from({ length: Math.min(settings.concurrency, uploads.length) }, worker))
  notAttempted(uploads.slice(next), ctx, deps.now()).forEach((result, offset) => (results[next + offset] = result))
  return results
}

function dryRun(settings: Settings, upload: Upload, deps: AbortDeps): UploadResult {
  const request = abortRequest(settings.baseUrl, upload, { kind: 'keys', apiKey: '***', appKey: '***' })
  deps.log(`Dry run: would send ${request.method} ${request.url} ${request.body}`)
  return {
    upload,
    outcome: 'dry-run',
    status: undefined,
    errors: [],
    attempts: 0,
    message: `Dry run: would abort upload ${upload.uploadId} of test ${upload.testId} on ${settings.siteLabel}.`
  }
}
