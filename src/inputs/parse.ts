import { parseDestination } from './destination.js'
import { Problems, sourceName, type Source } from '../settings/problems.js'
import {
  LIMITS,
  type Connection,
  type Credentials,
  type Env,
  type RawInputs,
  type Settings
} from '../settings/settings.js'
import { plural, quote } from '../text/text.js'
import { parseUploads } from './uploads.js'

export type ParseResult =
  | { ok: true; settings: Settings; warnings: string[] }
  // A dry run that stops at its inputs still says it was one.
  | { ok: false; errors: string[]; warnings: string[]; dryRun: boolean }

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
  if (errors.length > 0 || !connection || !uploads) return { ok: false, errors, warnings, dryRun }
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
  const credentials = parseCredentials(problems, input, env)
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
  if (problems.count > before || !destination || !credentials) return undefined
  return {
    credentials,
    baseUrl: destination.baseUrl,
    siteLabel: destination.label,
    maxRetries,
    timeoutMs: Math.round(timeoutSeconds * 1000),
    concurrency
  }
}

type SecretInput = 'api-key' | 'app-key' | 'access-token'

const SECRET_VARIABLES: Record<SecretInput, string> = {
  'api-key': 'DD_API_KEY',
  'app-key': 'DD_APP_KEY',
  'access-token': 'DD_BEARER_TOKEN'
}

const KEY_INPUTS = ['api-key', 'app-key'] as const

const NO_CREDENTIALS =
  'No Datadog credentials: give "api-key" and "app-key" (an API key and an application key), ' +
  'or "access-token" (a personal or service access token with the synthetics_write scope), from secrets, ' +
  'for example `access-token: ${{ secrets.DD_BEARER_TOKEN }}`; ' +
  'or set DD_API_KEY and DD_APP_KEY, or DD_BEARER_TOKEN, in the environment. ' +
  'Secrets are empty in workflows triggered from forks.'

/**
 * An access token when one is given (its input, else DD_BEARER_TOKEN), else
 * the key pair; undefined when what was chosen is missing or malformed
 * (recorded in `problems`).
 */
function parseCredentials(problems: Problems, input: (name: string) => string, env: Env): Credentials | undefined {
  const given = (name: SecretInput): Source | undefined => {
    if (input(name)) return { input: name }
    return (env[SECRET_VARIABLES[name]] ?? '').trim() ? { env: SECRET_VARIABLES[name] } : undefined
  }
  const tokenSource = given('access-token')
  if (tokenSource) {
    // Keys that only come from the environment may serve other tools of the job.
    const unused = KEY_INPUTS.filter(name => input(name) !== '')
    if (unused.length > 0) {
      problems.warn(
        `${sourceName(tokenSource)} gives an access token, which is used instead of the keys: ` +
          `${unused.map(name => `"${name}"`).join(' and ')} ${unused.length > 1 ? 'are' : 'is'} left unused. ` +
          'Remove the key inputs from the step, or the token to use the keys.'
      )
    }
    const token = secret(problems, 'access-token', input, env)
    return token ? { kind: 'token', token } : undefined
  }
  if (!given('api-key') && !given('app-key')) return problems.error(NO_CREDENTIALS)
  const apiKey = secret(problems, 'api-key', input, env)
  const appKey = secret(problems, 'app-key', input, env)
  if (!apiKey || !appKey || !keyPairHolds(problems, apiKey, appKey)) return undefined
  return { kind: 'keys', apiKey, appKey }
}

/** A key or token from its input, else from its environment variable; '' when missing or malformed. */
function secret(problems: Problems, name: SecretInput, input: (name: string) => string, env: Env): string {
  const variable = SECRET_VARIABLES[name]
  const value = input(name)
  const chosen = value || (env[variable] ?? '').trim()
  const source: Source = value ? { input: name } : { env: variable }
  const token = name === 'access-token'
  const what = token ? 'a Datadog access token' : 'a Datadog key'
  const min = LIMITS.secretMinChars
  const max = token ? LIMITS.tokenChars : LIMITS.secretChars
  if (!chosen) {
    problems.error(
      `Input "${name}" is empty and ${variable} is not set. Pass it from a secret, ` +
        `for example \`${name}: \${{ secrets.${variable} }}\`. ` +
        'Secrets are empty in workflows triggered from forks.'
    )
  } else if (!/^[\x21-\x7e]+$/.test(chosen)) {
    // "Bearer " is what the header adds: a value copied from a curl command carries it.
    const bearer = token && /^bearer\s/i.test(chosen) ? ' Give the token alone, without "Bearer ".' : ''
    problems.error(
      `${sourceName(source)} contains white space, control or non-ASCII characters; ${what} has none.${bearer} Check the secret's value.`
    )
  } else if (chosen.length < min || chosen.length > max) {
    const expected = token ? `is ${min} to ${max}` : 'is 32 or 40'
    problems.error(
      `${sourceName(source)} is ${plural(chosen.length, 'character')} long; ${what} ${expected}. Check the secret's value.`
    )
  } else {
    return chosen
  }
  return ''
}

/** False, with the reason recorded, for a pair that cannot be right. */
function keyPairHolds(problems: Problems, apiKey: string, appKey: string): boolean {
  if (apiKey === appKey) {
    problems.error(
      '"api-key" and "app-key" are the same value: the API key and the application key are two different keys.'
    )
    return false
  }
  // API keys are 32 hex characters, application keys 40: a pair shaped the
  // other way round was swapped when it was wired.
  if (/^[0-9a-f]{40}$/i.test(apiKey) && /^[0-9a-f]{32}$/i.test(appKey)) {
    problems.error(
      '"api-key" looks like an application key (40 characters) and "app-key" like an API key (32): they seem swapped.'
    )
    return false
  }
  return true
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
