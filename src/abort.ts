import { abortRequest, describeStatus, errorMessages, hintFor, shortLocation, type Keys } from './datadog.js'
import type { ErrorKind } from './errors.js'
import { isTlsError, MAX_BODY_BYTES, type Answer, type Failure, type Outcome, type Send } from './http.js'
import type { Upload } from './inputs.js'
import type { RateGate, Sleep } from './ratelimit.js'
import { classify, DEFAULT_POLICY, retryDelay } from './retry.js'
import { redact } from './text.js'

export type UploadOutcome = 'aborted' | 'not-found' | 'failed' | 'cancelled' | 'dry-run'

export interface UploadResult {
  readonly upload: Upload
  readonly outcome: UploadOutcome
  /** HTTP status of the last answer; undefined when none came. */
  readonly status: number | undefined
  /** Datadog's own error messages (or the network error), cleaned and bounded. */
  readonly errors: readonly string[]
  readonly attempts: number
  readonly durationMs: number
  /** One line for the log: what happened. */
  readonly message: string
  /** What to check, for failures. */
  readonly hint?: string
  /** Said as a warning even on success. */
  readonly warning?: string
  readonly kind?: ErrorKind
}

export interface AbortContext {
  readonly baseUrl: string
  readonly keys: Keys
  readonly siteLabel: string
  readonly maxRetries: number
  readonly ignoreNotFound: boolean
  /** Epoch milliseconds past which nothing is sent and nothing waited for. */
  readonly deadline: number
  /** Fires with reason 'cancelled' or 'deadline'. */
  readonly signal: AbortSignal
  /** Shared by a batch's workers; the single path has none. */
  readonly gate?: RateGate
  /** Work not yet sent, for the gate's pacing. */
  readonly pending?: () => number
}

export interface Clock {
  readonly now: () => number
  readonly sleep: Sleep
  readonly random: () => number
}

export interface AbortDeps extends Clock {
  readonly send: Send
  readonly log: (line: string) => void
}

/** Idle limit for one attempt: well under the step's own timeout. */
export function idleTimeoutFor(timeoutMs: number): number {
  return Math.min(30_000, Math.max(1_000, Math.floor(timeoutMs / 4)))
}

// Time kept back at the deadline for reporting.
const DEADLINE_MARGIN_MS = 100

/** Aborts one upload, retrying what is worth retrying, within the deadline. */
export async function abortUpload(upload: Upload, ctx: AbortContext, deps: AbortDeps): Promise<UploadResult> {
  const request = abortRequest(ctx.baseUrl, upload, ctx.keys)
  const secrets = [ctx.keys.apiKey, ctx.keys.appKey]
  const started = deps.now()
  const idleTimeoutMs = idleTimeoutFor(ctx.deadline - started)
  let attempts = 0
  let outcomeUnknown = false
  let last: Outcome | undefined

  const result = (fields: Omit<UploadResult, 'upload' | 'attempts' | 'durationMs'>): UploadResult => ({
    upload,
    attempts,
    durationMs: deps.now() - started,
    ...fields,
    errors: fields.errors.map(e => redact(e, secrets)),
    message: redact(fields.message, secrets),
    ...(fields.warning === undefined ? {} : { warning: redact(fields.warning, secrets) })
  })

  const abortedMessage = (status: number): string =>
    `Aborted upload ${upload.uploadId} of test ${upload.testId} on ${ctx.siteLabel} (${status}, ${plural(attempts, 'attempt')}, ${elapsed(deps.now() - started)}).`

  for (;;) {
    if (ctx.gate && !(await ctx.gate.acquire(ctx.signal)))
      return stopped(ctx, upload, attempts, last, outcomeUnknown, result)
    const remaining = ctx.deadline - deps.now()
    if (remaining <= DEADLINE_MARGIN_MS) return stopped(ctx, upload, attempts, last, outcomeUnknown, result)

    attempts++
    const attempt = new AbortController()
    const timer = setTimeout(() => attempt.abort('attempt-timeout'), Math.min(remaining, 2 * idleTimeoutMs))
    const signal = AbortSignal.any([ctx.signal, attempt.signal])
    let outcome: Outcome
    try {
      outcome = await deps.send(request, { signal, idleTimeoutMs, maxBodyBytes: MAX_BODY_BYTES })
    } finally {
      clearTimeout(timer)
    }
    // Before anything is cut to length, so no part of a key survives; a body
    // that was itself cut may end in the first half of one.
    if (outcome.kind === 'answer') outcome = redactAnswer(outcome, secrets)
    if (outcome.kind === 'cancelled' || (outcome.kind === 'timeout' && ctx.signal.aborted)) {
      outcomeUnknown ||= outcome.requestSent
      return stopped(ctx, upload, attempts, last, outcomeUnknown, result)
    }
    last = outcome
    if (outcome.kind === 'answer' && ctx.gate && ctx.pending) ctx.gate.observe(outcome.headers, ctx.pending())

    if (outcome.kind === 'answer' && outcome.status >= 200 && outcome.status < 300) {
      return result({ outcome: 'aborted', status: outcome.status, errors: [], message: abortedMessage(outcome.status) })
    }
    if (outcome.kind === 'answer' && outcome.status === 404) {
      const errors = answerErrors(outcome)
      if (outcomeUnknown) {
        return result({
          outcome: 'aborted',
          status: 404,
          errors,
          message: abortedMessage(404),
          warning: `Upload ${upload.uploadId}: an earlier attempt reached Datadog but its answer was lost, and the retry found the upload gone (404): the earlier attempt most likely aborted it.`
        })
      }
      if (ctx.ignoreNotFound) {
        return result({
          outcome: 'not-found',
          status: 404,
          errors,
          message: `Upload ${upload.uploadId} of test ${upload.testId} was not found on ${ctx.siteLabel}: already completed or aborted (ignore-not-found is on).`,
          warning: `Upload ${upload.uploadId} of test ${upload.testId} was not found (404): nothing to abort.${errors.length ? ' Datadog said: ' + errors.join('; ') : ''}`
        })
      }
    }

    const verdict = classify(outcome)
    outcomeUnknown ||= verdict.outcomeUnknown
    if (!verdict.retry) return failed(ctx, upload, outcome, outcomeUnknown, result)
    if (attempts > ctx.maxRetries)
      return failed(ctx, upload, outcome, outcomeUnknown, result, `after ${plural(attempts, 'attempt')}`)

    const headers = outcome.kind === 'answer' ? outcome.headers : undefined
    const delay = retryDelay(attempts, headers, DEFAULT_POLICY, deps.now(), deps.random)
    const left = ctx.deadline - deps.now()
    if (delay.wantedMs >= left - DEADLINE_MARGIN_MS) {
      return failed(
        ctx,
        upload,
        outcome,
        outcomeUnknown,
        result,
        `after ${plural(attempts, 'attempt')}; the next retry (in ${elapsed(delay.wantedMs)}, from ${delay.source}) would pass the step's timeout`
      )
    }
    if (outcome.kind === 'answer' && outcome.status === 429 && ctx.gate) ctx.gate.pauseUntil(deps.now() + delay.ms)
    deps.log(
      redact(
        `Attempt ${attempts} of ${ctx.maxRetries + 1} for upload ${upload.uploadId}: ${reasonOf(outcome)}; retrying in ${elapsed(delay.ms)} (${delay.source}).`,
        secrets
      )
    )
    if (!(await deps.sleep(delay.ms, ctx.signal))) return stopped(ctx, upload, attempts, last, outcomeUnknown, result)
  }
}

function answerErrors(answer: Answer): string[] {
  return errorMessages(answer.body, answer.headers['content-type'], answer.truncated)
}

function redactAnswer(answer: Answer, secrets: readonly string[]): Answer {
  const location = firstHeader(answer.headers.location)
  return {
    ...answer,
    body: redact(answer.body, secrets, answer.truncated || answer.incomplete),
    headers: location === undefined ? answer.headers : { ...answer.headers, location: redact(location, secrets) }
  }
}

type Finish = (fields: Omit<UploadResult, 'upload' | 'attempts' | 'durationMs'>) => UploadResult

const MAYBE =
  'The abort may or may not have reached Datadog: run the step again, or set ignore-not-found: true so a repeat is harmless.'

function stopped(
  ctx: AbortContext,
  upload: Upload,
  attempts: number,
  last: Outcome | undefined,
  outcomeUnknown: boolean,
  result: Finish
): UploadResult {
  const cancelled = ctx.signal.reason === 'cancelled'
  const status = last?.kind === 'answer' ? last.status : undefined
  const why = cancelled ? 'the step was cancelled' : 'the step ran out of time (see "timeout")'
  const errors = last === undefined ? [why] : last.kind === 'answer' ? answerErrors(last) : [last.message]
  const what =
    attempts === 0
      ? `Upload ${upload.uploadId} of test ${upload.testId} was not attempted: ${why}`
      : `Stopped aborting upload ${upload.uploadId} of test ${upload.testId}: ${why}${last ? `; the last complete attempt ended in: ${reasonOf(last)}` : ''}`
  return result({
    outcome: cancelled ? 'cancelled' : 'failed',
    kind: cancelled ? 'cancelled' : 'timeout',
    status,
    errors,
    message: `${what}.`,
    hint: outcomeUnknown
      ? MAYBE
      : cancelled
        ? 'The abort did not go through: the upload may still be open; run the step again.'
        : 'Raise "timeout" if Datadog or the network is slow.'
  })
}

function failed(
  ctx: AbortContext,
  upload: Upload,
  outcome: Outcome,
  outcomeUnknown: boolean,
  result: Finish,
  suffix?: string
): UploadResult {
  const after = suffix ? ` ${suffix}` : ''
  if (outcome.kind !== 'answer') return networkFailure(ctx, outcome, outcomeUnknown, result, after)
  const { status } = outcome
  const errors = answerErrors(outcome)
  const redirect = status >= 300 && status < 400
  const location = redirect ? ` to ${shortLocation(firstHeader(outcome.headers.location))}` : ''
  const empty = errors.length === 0 && !redirect ? ' with an empty body' : ''
  return result({
    outcome: 'failed',
    kind: redirect ? 'redirect' : 'http',
    status,
    // A failure always says something in the errors output.
    errors: errors.length > 0 ? errors : [`${describeStatus(status)}${location}${empty}`],
    message: `Datadog refused to abort upload ${upload.uploadId} of test ${upload.testId} on ${ctx.siteLabel}: ${describeStatus(status)}${location}${empty}${after}.`,
    hint: hintFor(status) + (outcomeUnknown && status >= 500 ? ' ' + MAYBE : '')
  })
}

function networkFailure(
  ctx: AbortContext,
  outcome: Failure,
  outcomeUnknown: boolean,
  result: Finish,
  after: string
): UploadResult {
  const tls = isTlsError(outcome.code)
  const host = new URL(ctx.baseUrl).host
  return result({
    outcome: 'failed',
    kind: tls ? 'tls' : outcome.kind === 'timeout' ? 'timeout' : 'network',
    status: undefined,
    errors: [outcome.message],
    message: `${outcome.kind === 'timeout' ? `No answer in time from ${host}` : outcome.code.startsWith('HPE_') ? `Unreadable answer from ${host}` : `Could not reach ${host}`}: ${outcome.message}${after}.`,
    hint: tls
      ? 'TLS verification is never turned off. If a proxy re-signs HTTPS traffic, give its CA certificate to Node with NODE_EXTRA_CA_CERTS.'
      : outcomeUnknown
        ? MAYBE
        : 'Check the runner can reach the host (proxy settings: https_proxy, no_proxy).'
  })
}

function reasonOf(outcome: Outcome): string {
  if (outcome.kind === 'answer') return describeStatus(outcome.status) + (outcome.incomplete ? ' (body cut short)' : '')
  return outcome.message
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

export function elapsed(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}
