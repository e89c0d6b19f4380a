import { errorMessages } from '../datadog/request.js'
import { isTlsError, NOT_TLS } from '../transport/failures.js'
import { header, type Reply, type SendFailure, type Sent } from '../transport/sent.js'
import type { Credentials, Upload } from '../settings/settings.js'
import { rateLimitName } from './retry.js'
import { hintFor, shortLocation } from '../datadog/hints.js'
import { describeStatus } from '../transport/status.js'
import { elapsed, plural } from '../text/text.js'

// How each way an upload's abort can end is worded for the person reading
// the step: the results, their messages and hints.

/**
 * `aborted` only when a 2xx came back; `unconfirmed` is a 404 after an
 * attempt whose answer was lost, which no one can tell from a wrong key.
 */
export type UploadOutcome = 'aborted' | 'not-found' | 'unconfirmed' | 'failed' | 'cancelled' | 'dry-run'

/** What went wrong, for the `results` output. */
type ErrorKind = 'http' | 'redirect' | 'network' | 'tls' | 'timeout' | 'cancelled' | 'rate-limit'

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
  /** An unconfirmed upload that ignore-not-found accepts: it does not fail the step. */
  readonly tolerated?: boolean
}

/** The words of a result; the retry loop adds the upload and the attempts. */
export type Wording = Omit<UploadResult, 'upload' | 'attempts'>

/** Where one upload's attempts stand. */
export interface AttemptState {
  readonly upload: Upload
  /** What the requests carry, for the hint of a refusal. */
  readonly auth: Credentials['kind']
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
  const counts: Record<UploadOutcome, number> = {
    aborted: 0,
    'not-found': 0,
    unconfirmed: 0,
    failed: 0,
    cancelled: 0,
    'dry-run': 0
  }
  for (const r of results) counts[r.outcome]++
  return counts
}

/** Whether this result makes the step fail. */
export function failsStep(r: UploadResult): boolean {
  return r.outcome === 'failed' || r.outcome === 'cancelled' || (r.outcome === 'unconfirmed' && r.tolerated !== true)
}

function replyErrors(reply: Reply): string[] {
  return errorMessages(reply.body, header(reply.headers, 'content-type'), reply.truncated)
}

const SUPPORT = 'To have a limit raised, give Datadog support its name (X-RateLimit-Name).'

/** The limit a 429 ran into, by the name Datadog support asks for. */
function limitNameOf(reply: Reply): string {
  const name = rateLimitName(reply.headers)
  if (reply.status !== 429 || name === undefined) return ''
  return ` Datadog names this limit "${name}" (X-RateLimit-Name): give that name to Datadog support to have it raised.`
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

/**
 * A 404 after an attempt whose answer was lost. No 2xx ever came, so this is
 * not "aborted": either the lost attempt aborted the upload, or the inputs
 * never named an open upload. Like any 404, it fails the step unless
 * ignore-not-found accepts an upload that is gone.
 */
export function unconfirmed(state: AttemptState, reply: Reply, ignoreNotFound: boolean): Wording {
  const { upload } = state
  const errors = replyErrors(reply)
  return {
    outcome: 'unconfirmed',
    kind: 'http',
    status: 404,
    // A failure always says something in the errors output.
    errors: errors.length > 0 || ignoreNotFound ? errors : ['404 Not Found after an attempt whose answer was lost'],
    message: `Upload ${upload.uploadId} of test ${upload.testId} on ${state.siteLabel} is not confirmed aborted: an earlier attempt may have reached Datadog but its answer was lost, and the retry found no such upload (404 Not Found). Either that attempt aborted it, or "key", "upload-id", the test or the site never named an open upload; no answer can tell which.`,
    ...(ignoreNotFound
      ? {
          tolerated: true,
          warning: `Upload ${upload.uploadId} of test ${upload.testId} is not confirmed aborted (404 after a lost answer); a 404 is accepted here, so it does not fail the step.`
        }
      : { hint: hintFor(404) })
  }
}

export function notFound(state: AttemptState, reply: Reply): Wording {
  const { upload } = state
  const errors = replyErrors(reply)
  return {
    outcome: 'not-found',
    status: 404,
    errors,
    message: `Upload ${upload.uploadId} of test ${upload.testId} was not found on ${state.siteLabel}: already completed or aborted, so nothing is left to abort.`,
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

/** The batch's rate limit resets only after the deadline: this upload is not tried (again). */
export function rateLimited(state: AttemptState, reason: string): Wording {
  const { upload, last } = state
  const what = state.attempts === 0 ? 'was not attempted' : `was not retried after ${plural(state.attempts, 'attempt')}`
  return {
    outcome: 'failed',
    kind: 'rate-limit',
    status: last?.kind === 'reply' ? last.status : undefined,
    errors: [`Not sent: ${reason}.`],
    message: `Upload ${upload.uploadId} of test ${upload.testId} ${what}: ${reason}.`,
    hint: `${hintFor(429)} ${SUPPORT}${state.outcomeUnknown ? ' ' + MAYBE : ''}`
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
    hint:
      hintFor(status, upload.entry, state.auth) +
      limitNameOf(sent) +
      (state.outcomeUnknown && status >= 500 ? ' ' + MAYBE : '')
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
    hint:
      failure.code === NOT_TLS
        ? 'For a local emulator, start "api-url" with http://; otherwise check the port.'
        : tls
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
