import { DEFAULT_SITE, isDatadogApiHost, resolveSite } from './site.js'

/** Input values as the runner passes them: every one a string, '' when not given. */
export type RawInputs = Readonly<Record<string, string>>
export type Env = Readonly<Record<string, string | undefined>>

export interface Upload {
  readonly testId: string
  readonly key: string
  readonly uploadId: string
}

export interface Settings {
  readonly apiKey: string
  readonly appKey: string
  /** Scheme, host and optional path prefix, no trailing slash. */
  readonly baseUrl: string
  /** How the destination is named in logs: `datadoghq.eu (EU1)` or the api-url host. */
  readonly siteLabel: string
  readonly uploads: readonly Upload[]
  /** True when the uploads came from `uploads` / `uploads-file`. */
  readonly batch: boolean
  readonly ignoreNotFound: boolean
  readonly maxRetries: number
  readonly timeoutMs: number
  readonly concurrency: number
  readonly dryRun: boolean
}

export type ParseResult =
  { ok: true; settings: Settings; warnings: string[] } | { ok: false; errors: string[]; warnings: string[] }

/** Every input of action.yml (a test keeps the two lists equal). */
export const INPUT_NAMES = [
  'api-key',
  'app-key',
  'site',
  'datadog-site',
  'api-url',
  'test-id',
  'key',
  'upload-id',
  'uploads',
  'uploads-file',
  'ignore-not-found',
  'max-retries',
  'timeout',
  'concurrency',
  'dry-run'
] as const

export const LIMITS = {
  keyChars: 1024,
  uploadIdChars: 1024,
  testIdChars: 64,
  secretChars: 256,
  uploads: 10_000,
  uploadsFileBytes: 16 * 1024 * 1024,
  maxRetries: 20,
  timeoutSeconds: 3600,
  concurrency: 32
} as const

const PUBLIC_ID_SHAPE = /^[a-z0-9]{3}-[a-z0-9]{3}-[a-z0-9]{3}$/
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/

const MISSING_OUTPUT_HINT =
  'An input wired to a step output arrives empty when that output was never set: ' +
  'check the step id and output name, or guard this step with ' +
  "`if: steps.<step id>.outputs.<output name> != ''`."

/**
 * Turns the raw inputs into validated settings. Every problem is collected,
 * so one failed run lists everything that needs fixing; nothing here talks
 * to the network or prints.
 */
export function parseInputs(raw: RawInputs, env: Env, readFile: (path: string) => string): ParseResult {
  const errors: string[] = []
  const warnings: string[] = []
  const input = (name: string): string => (raw[name] ?? '').trim()

  const apiKey = secret('api-key', 'DD_API_KEY', input('api-key'), env, errors)
  const appKey = secret('app-key', 'DD_APP_KEY', input('app-key'), env, errors)
  if (apiKey && appKey) checkKeyPair(apiKey, appKey, errors)

  const site = siteInput(input('site'), input('datadog-site'), errors)
  const destination = parseDestination(input('api-url'), site, env, errors, warnings)

  const ignoreNotFound = parseBoolean('ignore-not-found', input('ignore-not-found'), false, errors)
  const dryRun = parseBoolean('dry-run', input('dry-run'), false, errors)
  const maxRetries = parseNumber('max-retries', input('max-retries'), 5, 0, LIMITS.maxRetries, errors, true)
  const timeoutSeconds = parseNumber('timeout', input('timeout'), 120, 1, LIMITS.timeoutSeconds, errors)
  const concurrency = parseNumber('concurrency', input('concurrency'), 4, 1, LIMITS.concurrency, errors, true)

  const uploads = parseUploadInputs(raw, readFile, errors, warnings)

  if (errors.length > 0 || !destination || uploads === undefined) return { ok: false, errors, warnings }
  return {
    ok: true,
    warnings,
    settings: {
      apiKey,
      appKey,
      baseUrl: destination.baseUrl,
      siteLabel: destination.label,
      uploads: uploads.list,
      batch: uploads.batch,
      ignoreNotFound,
      maxRetries,
      timeoutMs: Math.round(timeoutSeconds * 1000),
      concurrency,
      dryRun
    }
  }
}

function secret(name: string, envName: string, value: string, env: Env, errors: string[]): string {
  const chosen = value || (env[envName] ?? '').trim()
  const source = value ? `Input "${name}"` : envName
  if (!chosen) {
    errors.push(
      `Input "${name}" is empty and ${envName} is not set. Pass it from a secret, ` +
        `for example \`${name}: \${{ secrets.${envName} }}\`. ` +
        'Secrets are empty in workflows triggered from forks.'
    )
  } else if (!/^[\x21-\x7e]+$/.test(chosen)) {
    errors.push(
      `${source} contains white space, control or non-ASCII characters; a Datadog key has none. Check the secret's value.`
    )
  } else if (chosen.length > LIMITS.secretChars) {
    errors.push(`${source} is ${chosen.length} characters long; a Datadog key is 32 or 40. Check the secret's value.`)
  } else {
    return chosen
  }
  return ''
}

function checkKeyPair(apiKey: string, appKey: string, errors: string[]): void {
  if (apiKey === appKey) {
    errors.push(
      '"api-key" and "app-key" are the same value: the API key and the application key are two different keys.'
    )
    return
  }
  // API keys are 32 hex characters, application keys 40: a pair shaped the
  // other way round was swapped when it was wired.
  if (/^[0-9a-f]{40}$/i.test(apiKey) && /^[0-9a-f]{32}$/i.test(appKey)) {
    errors.push(
      '"api-key" looks like an application key (40 characters) and "app-key" like an API key (32): they seem swapped.'
    )
  }
}

/**
 * `datadog-site` is the name Datadog's own actions use: taken as `site`, so
 * a step copied from them does not quietly go to the default site.
 */
function siteInput(site: string, datadogSite: string, errors: string[]): SiteChoice | undefined {
  if (site && datadogSite && site.toLowerCase() !== datadogSite.toLowerCase()) {
    errors.push('Inputs "site" and "datadog-site" name different sites; give only one.')
  }
  if (site) return { value: site, label: 'Input "site"' }
  if (datadogSite) return { value: datadogSite, label: 'Input "datadog-site"' }
  return undefined
}

interface SiteChoice {
  value: string
  label: string
}

interface Destination {
  baseUrl: string
  label: string
}

function parseDestination(
  apiUrl: string,
  site: SiteChoice | undefined,
  env: Env,
  errors: string[],
  warnings: string[]
): Destination | undefined {
  if (apiUrl) {
    if (site)
      warnings.push(
        `"api-url" is set, so ${site.label.replace('Input ', '')} is not used: requests go to the api-url host.`
      )
    return parseApiUrl(apiUrl, errors, warnings)
  }
  const fromEnv = (env.DD_SITE ?? '').trim()
  const chosen = site ?? (fromEnv ? { value: fromEnv, label: 'The DD_SITE environment variable' } : undefined)
  const resolved = resolveSite(chosen?.value ?? DEFAULT_SITE, chosen?.label)
  if (!resolved.ok) {
    errors.push(resolved.message)
    return undefined
  }
  return { baseUrl: `https://${resolved.apiHost}`, label: `${resolved.site.site} (${resolved.site.region})` }
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '')
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

function parseApiUrl(text: string, errors: string[], warnings: string[]): Destination | undefined {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    errors.push(`Input "api-url" is not a URL; expected something like https://api.datadoghq.com.`)
    return undefined
  }
  const problems: string[] = []
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
    problems.push('must start with https:// (plain http:// is accepted only for 127.0.0.1, ::1 and localhost)')
  }
  if (url.username || url.password) problems.push('must not contain a user name or password')
  if (url.search || url.hash) problems.push('must not contain a query (?) or fragment (#)')
  if (problems.length > 0) {
    errors.push(`Input "api-url" ${problems.join('; ')}.`)
    return undefined
  }
  // Every Datadog API path starts with /api/: a pasted endpoint URL or one
  // ending in /api/v2 keeps only what comes before.
  const path = url.pathname.replace(/\/+$/, '')
  const apiAt = (path + '/').indexOf('/api/')
  const prefix = apiAt >= 0 ? path.slice(0, apiAt) : path
  const host = url.host
  if (url.protocol === 'https:' && !isDatadogApiHost(url.hostname) && /datadoghq|ddog-gov/i.test(url.hostname)) {
    warnings.push(
      `"api-url" names ${url.hostname}, which is not a Datadog API host; the API hosts are api.<site> (for example api.datadoghq.com). Use "site" for Datadog's own sites.`
    )
  }
  return { baseUrl: `${url.protocol}//${host}${prefix}`, label: host }
}

function parseBoolean(name: string, value: string, fallback: boolean, errors: string[]): boolean {
  if (value === '') return fallback
  const lower = value.toLowerCase()
  if (lower === 'true') return true
  if (lower === 'false') return false
  errors.push(`Input "${name}" must be true or false, not ${JSON.stringify(clip(value))}.`)
  return fallback
}

function parseNumber(
  name: string,
  value: string,
  fallback: number,
  min: number,
  max: number,
  errors: string[],
  whole = false
): number {
  if (value === '') return fallback
  const n = (whole ? /^\d+$/ : /^\d+(\.\d+)?$/).test(value) ? Number(value) : NaN
  if (!Number.isFinite(n) || n < min || n > max) {
    const kind = whole ? 'a whole number' : 'a number'
    errors.push(`Input "${name}" must be ${kind} from ${min} to ${max}, not ${JSON.stringify(clip(value))}.`)
    return fallback
  }
  return n
}

function clip(text: string): string {
  return text.length > 40 ? text.slice(0, 40) + '…' : text
}

// ---------------------------------------------------------------------------
// Uploads: one from test-id / key / upload-id, or many from uploads / uploads-file

function parseUploadInputs(
  raw: RawInputs,
  readFile: (path: string) => string,
  errors: string[],
  warnings: string[]
): { list: Upload[]; batch: boolean } | undefined {
  const value = (name: string): string => (raw[name] ?? '').trim()
  const single = ['key', 'upload-id'].filter(name => value(name) !== '')
  const batchInputs = ['uploads', 'uploads-file'].filter(name => value(name) !== '')

  if (batchInputs.length === 2) {
    errors.push('Give either "uploads" or "uploads-file", not both.')
    return undefined
  }
  if (batchInputs.length === 1 && single.length > 0) {
    errors.push(
      `Give either the single upload ("key" and "upload-id") or the list ("${batchInputs[0]}"), not both: ${single
        .map(n => `"${n}"`)
        .join(' and ')} ${single.length > 1 ? 'are' : 'is'} set too.`
    )
    return undefined
  }

  const defaultTestId = value('test-id') ? parseTestId(value('test-id'), 'test-id', errors, warnings) : undefined

  if (batchInputs.length === 0) {
    if (!value('test-id')) {
      errors.push(
        `Input "test-id" is empty: give the public ID of the Synthetic test (like abc-def-123). ${MISSING_OUTPUT_HINT}`
      )
    }
    const testId = defaultTestId
    const key = checkField('Input "key"', value('key'), LIMITS.keyChars, errors, true)
    const uploadId = checkField('Input "upload-id"', value('upload-id'), LIMITS.uploadIdChars, errors, true)
    if (testId === undefined || key === undefined || uploadId === undefined) return undefined
    warnIfKeyOfOtherTest('', testId, key, warnings)
    return { list: [{ testId, key, uploadId }], batch: false }
  }

  const name = batchInputs[0] as 'uploads' | 'uploads-file'
  let text = value(name)
  if (name === 'uploads-file') {
    try {
      text = readFile(text)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable'
      const why = FILE_ERRORS[code] ?? 'unreadable'
      errors.push(`Input "uploads-file": cannot read ${JSON.stringify(clip(value(name)))}: ${why} (${code}).`)
      return undefined
    }
  }
  return parseUploadList(name, text, defaultTestId, errors, warnings)
}

const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file (paths are relative to the workspace)',
  EACCES: 'permission denied',
  EISDIR: 'a directory, not a file',
  ENOTREG: 'not a regular file',
  EFBIG: `larger than ${LIMITS.uploadsFileBytes / 1024 / 1024} MiB`
}

/** Parses the `uploads` list: entries, or Datadog's presigned-URLs answers. */
export function parseUploadList(
  name: string,
  text: string,
  defaultTestId: string | undefined,
  errors: string[],
  warnings: string[]
): { list: Upload[]; batch: true } | undefined {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    // A script that appends each answer as it starts an upload writes JSON
    // Lines: one value a line.
    data = parseJsonLines(text)
    if (data === undefined) {
      errors.push(
        `Input "${name}" is not valid JSON, nor JSON Lines (one value a line) (${(error as Error).message.slice(0, 120)}).`
      )
      return undefined
    }
  }
  const entries = Array.isArray(data) ? data : [data]
  if (entries.length === 0) {
    // A cleanup step whose manifest stayed empty has nothing to do: not an error.
    warnings.push(`Input "${name}" is an empty list: there is nothing to abort.`)
    return { list: [], batch: true }
  }
  if (entries.length > LIMITS.uploads) {
    errors.push(`Input "${name}" has ${entries.length} entries; at most ${LIMITS.uploads} are accepted in one step.`)
    return undefined
  }
  const list: Upload[] = []
  const seen = new Set<string>()
  const before = errors.length
  entries.forEach((entry, index) => {
    const where = Array.isArray(data) ? `${name}[${index}]` : name
    const upload = parseEntry(where, entry, defaultTestId, errors, warnings)
    if (!upload) return
    const identity = JSON.stringify([upload.testId, upload.key, upload.uploadId])
    if (seen.has(identity)) return
    seen.add(identity)
    list.push(upload)
  })
  if (errors.length > before) return undefined
  return { list, batch: true }
}

function parseJsonLines(text: string): unknown[] | undefined {
  const lines = text.split('\n').filter(line => line.trim() !== '')
  if (lines.length < 2) return undefined
  try {
    return lines.flatMap(line => {
      const value = JSON.parse(line) as unknown
      return Array.isArray(value) ? (value as unknown[]) : [value]
    })
  } catch {
    return undefined
  }
}

function parseEntry(
  where: string,
  entry: unknown,
  defaultTestId: string | undefined,
  errors: string[],
  warnings: string[]
): Upload | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    errors.push(`${where} must be an object with "key" and "uploadId", not ${describe(entry)}.`)
    return undefined
  }
  const record = entry as Record<string, unknown>
  const presigned = record['multipart_presigned_urls_params']
  const source =
    typeof presigned === 'object' && presigned !== null && !Array.isArray(presigned)
      ? {
          fields: presigned as Record<string, unknown>,
          path: `${where}.multipart_presigned_urls_params`,
          uploadIdField: 'upload_id'
        }
      : {
          fields: record,
          path: where,
          // Datadog's own answers spell it upload_id.
          uploadIdField: 'uploadId' in record || !('upload_id' in record) ? 'uploadId' : 'upload_id'
        }

  const key = stringField(source.path, source.fields, 'key', LIMITS.keyChars, errors)
  const uploadId = stringField(source.path, source.fields, source.uploadIdField, LIMITS.uploadIdChars, errors)

  let testId: string | undefined
  const ownTestId = record['testId']
  if (ownTestId !== undefined) {
    if (typeof ownTestId !== 'string') {
      errors.push(`${where}.testId must be a string, not ${describe(ownTestId)}.`)
    } else {
      testId = parseTestId(ownTestId.trim(), `${where}.testId`, errors, warnings)
    }
  } else if (defaultTestId !== undefined) {
    testId = defaultTestId
  } else if (key !== undefined) {
    testId = testIdFromKey(key)
    if (testId === undefined) {
      errors.push(
        `${where} has no "testId", the "test-id" input is empty, and its key does not name a test: give "testId" or set "test-id".`
      )
    }
  }
  if (testId === undefined || key === undefined || uploadId === undefined) return undefined
  warnIfKeyOfOtherTest(`${where}: `, testId, key, warnings)
  return { testId, key, uploadId }
}

function stringField(
  path: string,
  fields: Record<string, unknown>,
  field: string,
  max: number,
  errors: string[]
): string | undefined {
  const value = fields[field]
  if (value === undefined || value === null) {
    errors.push(`${path}.${field} is missing.`)
    return undefined
  }
  if (typeof value !== 'string') {
    errors.push(`${path}.${field} must be a string, not ${describe(value)}.`)
    return undefined
  }
  return checkField(`${path}.${field}`, value.trim(), max, errors, false)
}

function checkField(label: string, value: string, max: number, errors: string[], isInput: boolean): string | undefined {
  if (value === '') {
    errors.push(`${label} is empty.${isInput ? ' ' + MISSING_OUTPUT_HINT : ''}`)
  } else if (CONTROL.test(value)) {
    errors.push(`${label} contains control characters or line breaks; paste the value alone.`)
  } else if (value.length > max) {
    errors.push(`${label} is ${value.length} characters long; at most ${max} are accepted.`)
  } else {
    return value
  }
  return undefined
}

/**
 * A test's public ID, or a pasted test URL whose path holds one. Anything
 * that could change the request path is refused; the ID is URL-encoded
 * into the path all the same.
 */
export function parseTestId(value: string, label: string, errors: string[], warnings: string[]): string | undefined {
  const named = label === 'test-id' ? `Input "test-id"` : label
  if (value === '') {
    errors.push(`${named} is empty: give the public ID of the Synthetic test (like abc-def-123).`)
    return undefined
  }
  if (/^https?:\/\//i.test(value)) {
    let segments: string[] = []
    try {
      segments = new URL(value).pathname.split('/').filter(Boolean)
    } catch {
      /* reported below */
    }
    const id = [...segments].reverse().find(s => PUBLIC_ID_SHAPE.test(s.toLowerCase()))
    if (id === undefined) {
      errors.push(`${named} is a URL with no test public ID (like abc-def-123) in its path.`)
      return undefined
    }
    return id.toLowerCase()
  }
  if (CONTROL.test(value) || /[\s/?#%\\]/.test(value) || value.includes('..') || value === '.') {
    errors.push(
      `${named} must be a test public ID like abc-def-123; it contains a character that is not allowed (white space, control characters, / ? # % \\, "." alone or "..").`
    )
    return undefined
  }
  if (value.length > LIMITS.testIdChars) {
    errors.push(`${named} is ${value.length} characters long; a public ID is like abc-def-123.`)
    return undefined
  }
  // Public IDs are lower case; one typed in capitals is the same test.
  if (PUBLIC_ID_SHAPE.test(value.toLowerCase())) return value.toLowerCase()
  if (!PUBLIC_ID_SHAPE.test(value)) {
    warnings.push(
      `${named} ${JSON.stringify(value)} is not shaped like a public ID (abc-def-123); sending it as given.`
    )
  }
  return value
}

/** Datadog's keys embed the test: `<org>/<prefix>/<public id>/<file>`. */
export function testIdFromKey(key: string): string | undefined {
  const segment = key.split('/')[2]
  return segment !== undefined && PUBLIC_ID_SHAPE.test(segment) ? segment : undefined
}

function warnIfKeyOfOtherTest(prefix: string, testId: string, key: string, warnings: string[]): void {
  const owner = testIdFromKey(key)
  if (owner !== undefined && owner !== testId) {
    warnings.push(
      `${prefix}the key belongs to test ${owner}, but the upload is aborted under test ${testId}; Datadog answers 404 for an upload of another test.`
    )
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  return typeof value === 'string' ? 'a string' : `a ${typeof value}`
}
