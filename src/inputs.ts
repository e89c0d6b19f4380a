import { parseDestination } from './destination.js'
import { Problems, sourceName, type Source } from './problems.js'
import { LIMITS, type Connection, type Env, type RawInputs, type Settings } from './settings.js'
import { plural, quote } from './text.js'
import { parseUploads } from './uploads.js'

export type ParseResult =
  { ok: true; settings: Settings; warnings: string[] } | { ok: false; errors: string[]; warnings: string[] }

/**
 * Turns the raw inputs into validated settings. Every problem is collected,
 * so one failed run lists everything that needs fixing; nothing here talks
 * to the network or prints.
 */
export function parseInputs(raw: RawInputs, env: Env, readFile: (path: string) => string): ParseResult {
  const problems = new Problems()
  const input = inputReader(raw)
  const connection = parseConnection(problems, input, env)
  const ignoreNotFound = parseBoolean(problems, 'ignore-not-found', input('ignore-not-found'))
  const dryRun = parseBoolean(problems, 'dry-run', input('dry-run'))
  const uploads = parseUploads(
    problems,
    {
      testId: input('test-id'),
      key: input('key'),
      uploadId: input('upload-id'),
      uploads: input('uploads'),
      uploadsFile: input('uploads-file')
    },
    readFile
  )

  const { errors, warnings } = problems
  if (errors.length > 0 || !connection || !uploads) return { ok: false, errors, warnings }
  return {
    ok: true,
    warnings,
    settings: { ...connection, uploads: uploads.list, batch: uploads.batch, ignoreNotFound, dryRun }
  }
}

/** An input's value, trimmed; '' when not given. */
export function inputReader(raw: RawInputs): (name: string) => string {
  return name => (raw[name] ?? '').trim()
}

/**
 * The inputs that say where and how to call Datadog, shared by the action
 * and the guard; undefined when any is wrong (recorded in `problems`).
 */
export function parseConnection(problems: Problems, input: (name: string) => string, env: Env): Connection | undefined {
  const before = problems.count
  const apiKey = key(problems, { input: 'api-key' }, input('api-key'), env)
  const appKey = key(problems, { input: 'app-key' }, input('app-key'), env)
  if (apiKey && appKey) checkKeyPair(problems, apiKey, appKey)

  const destination = parseDestination(
    problems,
    { site: input('site'), datadogSite: input('datadog-site'), apiUrl: input('api-url') },
    env
  )
  const maxRetries = parseNumber(problems, 'max-retries', input('max-retries'), {
    fallback: 5,
    min: 0,
    max: LIMITS.maxRetries,
    whole: true
  })
  const timeoutSeconds = parseNumber(problems, 'timeout', input('timeout'), {
    fallback: 120,
    min: 1,
    max: LIMITS.timeoutSeconds
  })
  const concurrency = parseNumber(problems, 'concurrency', input('concurrency'), {
    fallback: 4,
    min: 1,
    max: LIMITS.concurrency,
    whole: true
  })
  if (problems.count > before || !destination) return undefined
  return {
    apiKey,
    appKey,
    baseUrl: destination.baseUrl,
    siteLabel: destination.label,
    maxRetries,
    timeoutMs: Math.round(timeoutSeconds * 1000),
    concurrency
  }
}

const KEY_VARIABLES: Record<string, string> = { 'api-key': 'DD_API_KEY', 'app-key': 'DD_APP_KEY' }

/** A key from its input, else from its environment variable; '' when missing or malformed. */
function key(problems: Problems, from: { input: string }, value: string, env: Env): string {
  const variable = KEY_VARIABLES[from.input] ?? ''
  const chosen = value || (env[variable] ?? '').trim()
  const source: Source = value ? from : { env: variable }
  if (!chosen) {
    problems.error(
      `Input "${from.input}" is empty and ${variable} is not set. Pass it from a secret, ` +
        `for example \`${from.input}: \${{ secrets.${variable} }}\`. ` +
        'Secrets are empty in workflows triggered from forks.'
    )
  } else if (!/^[\x21-\x7e]+$/.test(chosen)) {
    problems.error(
      `${sourceName(source)} contains white space, control or non-ASCII characters; a Datadog key has none. Check the secret's value.`
    )
  } else if (chosen.length < LIMITS.secretMinChars || chosen.length > LIMITS.secretChars) {
    problems.error(
      `${sourceName(source)} is ${plural(chosen.length, 'character')} long; a Datadog key is 32 or 40. Check the secret's value.`
    )
  } else {
    return chosen
  }
  return ''
}

function checkKeyPair(problems: Problems, apiKey: string, appKey: string): void {
  if (apiKey === appKey) {
    problems.error(
      '"api-key" and "app-key" are the same value: the API key and the application key are two different keys.'
    )
    return
  }
  // API keys are 32 hex characters, application keys 40: a pair shaped the
  // other way round was swapped when it was wired.
  if (/^[0-9a-f]{40}$/i.test(apiKey) && /^[0-9a-f]{32}$/i.test(appKey)) {
    problems.error(
      '"api-key" looks like an application key (40 characters) and "app-key" like an API key (32): they seem swapped.'
    )
  }
}

// A key pasted into the wrong input is shown by no more than its first few
// characters: too few to be a piece of it worth hiding.
const SHORT_QUOTE = 7

function parseBoolean(problems: Problems, name: string, value: string): boolean {
  const lower = value.toLowerCase()
  if (value === '' || lower === 'false') return false
  if (lower === 'true') return true
  problems.error(`Input "${name}" must be true or false, not ${quote(value, SHORT_QUOTE)}.`)
  return false
}

interface Range {
  readonly fallback: number
  readonly min: number
  readonly max: number
  /** Whole numbers only. */
  readonly whole?: boolean
}

function parseNumber(problems: Problems, name: string, value: string, range: Range): number {
  if (value === '') return range.fallback
  const n = (range.whole ? /^\d+$/ : /^\d+(\.\d+)?$/).test(value) ? Number(value) : NaN
  if (!Number.isFinite(n) || n < range.min || n > range.max) {
    const kind = range.whole ? 'a whole number' : 'a number'
    problems.error(
      `Input "${name}" must be ${kind} from ${range.min} to ${range.max}, not ${quote(value, SHORT_QUOTE)}.`
    )
    return range.fallback
  }
  return n
}
