import { errorMessages } from './datadog.js'
import { header, isTlsError, type Reply, type SendFailure, type Sent } from './http.js'
import type { Upload } from './settings.js'
import { elapsed, oneLine, plural, truncate } from './text.js'

// How each way an upload's abort can end is worded for the person reading
// the step: the results, their messages, and what to check by status.

export type UploadOutcome = 'aborted' | 'not-found' | 'failed' | 'cancelled' | 'dry-run'

/** What went wrong, for the `results` output. */
type ErrorKind = 'http' | 'redirect' | 'network' | 'tls' | 'timeout' | 'cancelled'

export interface UploadResult {
  readonly upload: Upload
  readonly outcome: UploadOutcome
  /** HTTP status of the last reply; undefined when none came. */
  readonly status: number | undefined
  /** Datadog's own error messages (or the network error), cleaned and bounded. */
  readonly errors: readonly string[]
  /** Requests sent for this upload. */
  readonly attempts: number
  /** One line for the log: what happened. */
  readonly message: string
  /** What to check, for failures. */
  readonly hint?: string
  /** Said as a warning even on success. */
  readonly warning?: string
  readonly kind?: ErrorKind
}

/** The words of a result; the retry loop adds the upload and the attempts. */
export type Wording = Omit<UploadResult, 'upload' | 'attempts'>

/** Where one upload's attempts stand. */
export interface AttemptState {
  readonly upload: Upload
  /** `datadoghq.eu (EU1)` or the api-url host. */
  readonly siteLabel: string
  /** The API host, for network errors. */
  readonly host: string
  readonly started: number
  attempts: number
  /** The last request that came to something other than a cancellation. */
  last: Sent | undefined
  /** An attempt may have reached Datadog without its reply reaching us. */
  outcomeUnknown: boolean
}

export function countOutcomes(results: readonly UploadResult[]): Record<UploadOutcome, number> {
  const counts: Record<UploadOutcome, number> = { aborted: 0, 'not-found': 0, failed: 0, cancelled: 0, 'dry-run': 0 }
  for (const r of results) counts[r.outcome]++
  return counts
}

function replyErrors(reply: Reply): string[] {
  return errorMessages(reply.body, header(reply.headers, 'content-type'), reply.truncated)
}

const MAYBE =
  'The abort may or may not have reached Datadog: run the step again, or set ignore-not-found: true so a repeat is harmless.'

export function aborted(state: AttemptState, status: number, nowMs: number): Wording {
  const { upload } = state
  return {
    outcome: 'aborted',
    status,
    errors: [],
    message: `Aborted upload ${upload.uploadId} of test ${upload.testId} on ${state.siteLabel} (${status}, ${plural(state.attempts, 'attempt')}, ${elapsed(nowMs - state.started)}).`
  }
}

/** A 404 after an attempt whose reply was lost: that attempt most likely aborted the upload. */
export function goneAfterLostReply(state: AttemptState, reply: Reply, nowMs: number): Wording {
  return {
    ...aborted(state, 404, nowMs),
    errors: replyErrors(reply),
    warning: `Upload ${state.upload.uploadId}: an earlier attempt reached Datadog but its answer was lost, and the retry found the upload gone (404): the earlier attempt most likely aborted it.`
  }
}

export function notFound(state: AttemptState, reply: Reply): Wording {
  const { upload } = state
  const errors = replyErrors(reply)
  return {
    outcome: 'not-found',
    status: 404,
    errors,
    message: `Upload ${upload.uploadId} of test ${upload.testId} was not found on ${state.siteLabel}: already completed or aborted (ignore-not-found is on).`,
    warning: `Upload ${upload.uploadId} of test ${upload.testId} was not found (404): nothing to abort.${errors.length ? ' Datadog said: ' + errors.join('; ') : ''}`
  }
}

/** The step was cancelled or ran out of time before this upload's abort came to an end. */
export function stopped(state: AttemptState, cancelled: boolean): Wording {
  const { upload, last } = state
  const why = cancelled ? 'the step was cancelled' : 'the step ran out of time (see "timeout")'
  const errors = last === undefined ? [why] : last.kind === 'reply' ? replyErrors(last) : [last.message]
  const what =
    state.attempts === 0
      ? `Upload ${upload.uploadId} of test ${upload.testId} was not attempted: ${why}`
      : `Stopped aborting upload ${upload.uploadId} of test ${upload.testId}: ${why}${last ? `; the last complete attempt ended in: ${reasonOf(last)}` : ''}`
  return {
    outcome: cancelled ? 'cancelled' : 'failed',
    kind: cancelled ? 'cancelled' : 'timeout',
    status: last?.kind === 'reply' ? last.status : undefined,
    errors,
    message: `${what}.`,
    hint: state.outcomeUnknown
      ? MAYBE
      : cancelled
        ? 'The abort did not go through: the upload may still be open; run the step again.'
        : 'Raise "timeout" if Datadog or the network is slow.'
  }
}

/** The last request failed for good; `after` says why no retry followed, when one could have. */
export function failed(state: AttemptState, sent: Sent, after = ''): Wording {
  const suffix = after ? ` ${after}` : ''
  if (sent.kind !== 'reply') return networkFailure(state, sent, suffix)
  const { status } = sent
  const errors = replyErrors(sent)
  const redirect = status >= 300 && status < 400
  const location = redirect ? ` to ${shortLocation(header(sent.headers, 'location'))}` : ''
  const empty = errors.length === 0 && !redirect ? ' with an empty body' : ''
  const { upload } = state
  return {
    outcome: 'failed',
    kind: redirect ? 'redirect' : 'http',
    status,
    // A failure always says something in the errors output.
    errors: errors.length > 0 ? errors : [`${describeStatus(status)}${location}${empty}`],
    message: `Datadog refused to abort upload ${upload.uploadId} of test ${upload.testId} on ${state.siteLabel}: ${describeStatus(status)}${location}${empty}${suffix}.`,
    hint: hintFor(status) + (state.outcomeUnknown && status >= 500 ? ' ' + MAYBE : '')
  }
}

function networkFailure(state: AttemptState, failure: SendFailure, suffix: string): Wording {
  const tls = isTlsError(failure.code)
  const { host } = state
  const what =
    failure.kind === 'timeout'
      ? `No answer in time from ${host}`
      : failure.code.startsWith('HPE_')
        ? `Unreadable answer from ${host}`
        : `Could not reach ${host}`
  return {
    outcome: 'failed',
    kind: tls ? 'tls' : failure.kind === 'timeout' ? 'timeout' : 'network',
    status: undefined,
    errors: [failure.message],
    message: `${what}: ${failure.message}${suffix}.`,
    hint: tls
      ? 'TLS verification is never turned off. If a proxy re-signs HTTPS traffic, give its CA certificate to Node with NODE_EXTRA_CA_CERTS.'
      : state.outcomeUnknown
        ? MAYBE
        : 'Check the runner can reach the host (proxy settings: https_proxy, no_proxy).'
  }
}

/** What an attempt came to, in a few words, for the retry lines of the log. */
export function reasonOf(sent: Sent): string {
  if (sent.kind === 'reply') return describeStatus(sent.status) + (sent.incomplete ? ' (body cut short)' : '')
  return sent.message
}

/** What the person reading the failed step should check, by status. */
export function hintFor(status: number): string {
  if (status === 400)
    return 'Datadog refused the request itself: check "key" and "upload-id" (the errors above say which field).'
  if (status === 401 || status === 403)
    return 'Check that the API key and application key belong to the same organisation, that "site" (or "api-url") is the site of that organisation, and that the application key has the synthetics_write permission.'
  if (status === 404)
    return 'Check "test-id" and "site" (or "api-url"), and that "key" and "upload-id" come from the same answer that started the upload; the upload may also be completed or aborted already (set ignore-not-found: true to treat that as success).'
  if (status === 408) return 'The request timed out on the way; it is safe to run the step again.'
  if (status === 413) return 'The request body was refused as too large.'
  if (status === 429)
    return 'Rate limited by Datadog: the limit did not reset in time; run again later or raise "timeout".'
  if (status >= 500 && status < 600) return 'Datadog or a proxy in between failed; it is safe to run the step again.'
  if (status >= 300 && status < 400)
    return 'The API answered with a redirect, which this action never follows (the keys would go along): check "site" or "api-url".'
  return 'Unexpected answer from the API.'
}

const STATUS_NAMES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout'
}

export function describeStatus(status: number): string {
  const name = STATUS_NAMES[status]
  return name ? `${status} ${name}` : String(status)
}

export function shortLocation(location: string | undefined): string {
  if (!location) return '(no Location header)'
  try {
    const url = new URL(location)
    return truncate(`${url.protocol}//${url.host}${url.pathname}`, 200)
  } catch {
    return oneLine(location, 200)
  }
}
