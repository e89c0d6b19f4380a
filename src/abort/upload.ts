import { abortRequest } from '../datadog/request.js'
import type { AbortReason } from '../transport/failures.js'
import { MAX_BODY_BYTES } from '../transport/send.js'
import { header, type Outgoing, type Reply, type Send, type Sent } from '../transport/sent.js'
import {
  aborted,
  failed,
  notFound,
  rateLimited,
  reasonOf,
  stopped,
  unconfirmed,
  type AttemptState,
  type UploadResult,
  type Wording
} from './outcomes.js'
import type { RateGate, Sleep } from './rate-gate.js'
import { classify, retryDelay } from './retry.js'
import type { Credentials, Upload } from '../settings/settings.js'
import type { Redact } from '../text/redact.js'
import { elapsed, plural } from '../text/text.js'

export interface AbortContext {
  readonly baseUrl: string
  readonly credentials: Credentials
  readonly siteLabel: string
  readonly maxRetries: number
  readonly ignoreNotFound: boolean
  /** Epoch milliseconds past which nothing is sent and nothing waited for. */
  readonly deadline: number
  /** Fires with the AbortReason 'cancelled' or 'deadline'. */
  readonly signal: AbortSignal
  /** Shared by a batch's workers; the single path has none. */
  readonly gate?: RateGate
}

export interface AbortDeps {
  readonly now: () => number
  readonly sleep: Sleep
  readonly random: () => number
  readonly send: Send
  readonly log: (line: string) => void
  /** Hides every piece of a secret in a text (the shell's redactor). */
  readonly redact: Redact
}

/** Idle limit for one attempt: well under the step's own timeout. */
function idleTimeoutFor(timeoutMs: number): number {
  return Math.min(30_000, Math.max(1_000, Math.floor(timeoutMs / 4)))
}

// Time kept back at the deadline for reporting.
const DEADLINE_MARGIN_MS = 100

/** Whether an upload not yet begun is left untried: the step is stopped, or too close to its deadline to send. */
export function tooLateToBegin(ctx: AbortContext, now: number): boolean {
  return ctx.signal.aborted || ctx.deadline - now <= DEADLINE_MARGIN_MS
}

/**
 * The uploads left untried (see tooLateToBegin), worded as abortUpload words
 * a stop before the first attempt, in one pass: ten thousand of them cost next
 * to nothing at the deadline. Their words hold only the inputs' own values,
 * and every text the step prints goes through the shell's redaction.
 */
export function notAttempted(uploads: readonly Upload[], ctx: AbortContext, now: number): UploadResult[] {
  const host = new URL(ctx.baseUrl).host
  const cancelled = ctx.signal.reason === ('cancelled' satisfies AbortReason)
  return uploads.map(upload => ({ upload, attempts: 0, ...stopped(firstState(upload, ctx, host, now), cancelled) }))
}

function firstState(upload: Upload, ctx: AbortContext, host: string, now: number): AttemptState {
  return {
    upload,
    auth: ctx.credentials.kind,
    siteLabel: ctx.siteLabel,
    host,
    started: now,
    attempts: 0,
    last: undefined,
    outcomeUnknown: false
  }
}

/** Aborts one upload, retrying what is worth retrying, within the deadline. */
export async function abortUpload(upload: Upload, ctx: AbortContext, deps: AbortDeps): Promise<UploadResult> {
  const request = abortRequest(ctx.baseUrl, upload, ctx.credentials)
  const state = firstState(upload, ctx, new URL(ctx.baseUrl).host, deps.now())
  const job: Job = { request, state, idleTimeoutMs: idleTimeoutFor(ctx.deadline - state.started) }
  const finish = (wording: Wording): UploadResult => resultOf(upload, state.attempts, wording, deps.redact)
  for (;;) {
    const step = await attempt(job, ctx, deps)
    if ('done' in step) return finish(step.done)
    const sent = step.retry
    const tried = plural(state.attempts, 'attempt')
    if (state.attempts > ctx.maxRetries) return finish(failed(state, sent, `after ${tried}`))
    const delay = retryDelay(state.attempts, sent.kind === 'reply' ? sent : undefined, {
      nowMs: deps.now(),
      random: deps.random
    })
    if (delay.wantedMs >= ctx.deadline - deps.now() - DEADLINE_MARGIN_MS) {
      const next = `the next retry (in ${elapsed(delay.wantedMs)}, from ${delay.source}) would pass the step's timeout`
      return finish(failed(state, sent, `after ${tried}; ${next}`))
    }
    deps.log(
      deps.redact(
        `Attempt ${state.attempts} of ${ctx.maxRetries + 1} for upload ${upload.uploadId}: ${reasonOf(sent)}; retrying in ${elapsed(delay.ms)} (${delay.source}).`
      )
    )
    if (!(await deps.sleep(delay.ms, ctx.signal))) return finish(stoppedBy(state, ctx.signal))
  }
}

/** What one attempt settles: how the upload's abort ends, or an answer worth another try. */
type Step = { readonly done: Wording } | { readonly retry: Sent }

/** One upload's request, its attempts so far, and the idle limit of each. */
interface Job {
  readonly request: Outgoing
  readonly state: AttemptState
  readonly idleTimeoutMs: number
}

/** One attempt: a turn of the rate gate, one request, and what its answer means. */
async function attempt({ request, state, idleTimeoutMs }: Job, ctx: AbortContext, deps: AbortDeps): Promise<Step> {
  const turn = ctx.gate ? await ctx.gate.acquire(ctx.signal) : undefined
  if (turn?.kind === 'stopped') return { done: stoppedBy(state, ctx.signal) }
  if (turn?.kind === 'held') return { done: rateLimited(state, turn.reason) }
  const remaining = ctx.deadline - deps.now()
  if (remaining <= DEADLINE_MARGIN_MS) {
    if (turn) ctx.gate?.settle(turn.ticket, undefined)
    return { done: stoppedBy(state, ctx.signal) }
  }
  state.attempts++
  let sent = await sendWithin(request, ctx.signal, deps.send, {
    limitMs: Math.min(remaining, 2 * idleTimeoutMs),
    idleTimeoutMs
  })
  if (turn) ctx.gate?.settle(turn.ticket, sent.kind === 'reply' ? sent : undefined)
  // The body is not redacted here: every message made from it is, and
  // redaction finds any piece of a key, so cutting first leaves none.
  if (sent.kind === 'reply') sent = redactLocation(sent, deps.redact)
  if (sent.kind === 'cancelled' || (sent.kind === 'timeout' && ctx.signal.aborted)) {
    state.outcomeUnknown ||= sent.requestSent
    return { done: stoppedBy(state, ctx.signal) }
  }
  state.last = sent
  if (sent.kind === 'reply' && sent.status >= 200 && sent.status < 300) {
    return { done: aborted(state, sent.status, deps.now()) }
  }
  if (sent.kind === 'reply' && sent.status === 404) {
    if (state.outcomeUnknown) return { done: unconfirmed(state, sent, ctx.ignoreNotFound) }
    if (ctx.ignoreNotFound) return { done: notFound(state, sent) }
  }
  const verdict = classify(sent)
  state.outcomeUnknown ||= verdict.outcomeUnknown
  return verdict.retry ? { retry: sent } : { done: failed(state, sent) }
}

/** One request, stopped by the step's signal or after `limitMs`, whichever comes first. */
async function sendWithin(
  request: Outgoing,
  step: AbortSignal,
  send: Send,
  { limitMs, idleTimeoutMs }: { readonly limitMs: number; readonly idleTimeoutMs: number }
): Promise<Sent> {
  const attempt = new AbortController()
  const timer = setTimeout(() => attempt.abort('attempt-timeout' satisfies AbortReason), limitMs)
  const follow = (): void => attempt.abort(step.reason)
  step.addEventListener('abort', follow, { once: true })
  if (step.aborted) follow()
  try {
    return await send(request, { signal: attempt.signal, idleTimeoutMs, maxBodyBytes: MAX_BODY_BYTES })
  } finally {
    clearTimeout(timer)
    step.removeEventListener('abort', follow)
  }
}

function stoppedBy(state: AttemptState, signal: AbortSignal): Wording {
  return stopped(state, signal.reason === ('cancelled' satisfies AbortReason))
}

/** The result of an upload: its wording with every message redacted. */
function resultOf(upload: Upload, attempts: number, wording: Wording, redact: Redact): UploadResult {
  return {
    upload,
    attempts,
    ...wording,
    errors: redactEach(wording.errors, redact),
    message: redact(wording.message),
    ...(wording.warning === undefined ? {} : { warning: redact(wording.warning) })
  }
}

/**
 * Each message redacted, unless the messages together hold a piece of a key
 * that none holds alone (a server splitting a key across messages printed on
 * lines of their own): then one redacted message stands for them all.
 */
function redactEach(messages: readonly string[], redact: Redact): string[] {
  const each = messages.map(redact)
  const whole = redact(messages.join('; '))
  return whole === each.join('; ') ? each : [whole]
}

function redactLocation(reply: Reply, redact: Redact): Reply {
  const location = header(reply.headers, 'location')
  if (location === undefined) return reply
  return { ...reply, headers: { ...reply.headers, location: redact(location) } }
}
