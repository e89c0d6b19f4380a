import { Problems } from './problems.js'
import { LIMITS, type Upload } from './settings.js'
import { oneLine } from './text.js'
import { checkField, parseTestId, testIdFromKey, warnIfKeyOfOtherTest } from './upload.js'

// The uploads manifest: the `uploads` input or the `uploads-file` file. It
// holds entries (`{testId?, key, uploadId}`), Datadog's presigned-URLs
// answers as received, or a list of either; as one JSON value or as JSON
// Lines.

/** Parses the manifest named `name`; undefined when any entry is wrong. */
export function parseManifest(
  problems: Problems,
  name: string,
  text: string,
  defaultTestId: string | undefined
): Upload[] | undefined {
  const data = parseJson(problems, name, text)
  if (data === undefined) return undefined
  const entries = Array.isArray(data) ? data : [data]
  if (entries.length === 0) {
    // A cleanup step whose manifest stayed empty has nothing to do: not an error.
    problems.warn(`Input "${name}" is an empty list: there is nothing to abort.`)
    return []
  }
  if (entries.length > LIMITS.uploads) {
    return problems.error(
      `Input "${name}" has ${entries.length} entries; at most ${LIMITS.uploads} are accepted in one step.`
    )
  }
  const list: Upload[] = []
  const seen = new Set<string>()
  const flagged = { errors: 0, warnings: 0 }
  entries.forEach((entry, index) => {
    const where = Array.isArray(data) ? `${name}[${index}]` : name
    const own = new Problems()
    const upload = parseEntry(own, { where, entry, defaultTestId })
    relay(own, problems, flagged)
    if (!upload) return
    const identity = JSON.stringify([upload.testId, upload.key, upload.uploadId])
    if (seen.has(identity)) return
    seen.add(identity)
    list.push(upload)
  })
  const more = (n: number, what: string): string =>
    `${n - MAX_ENTRIES_LISTED} more entries of "${name}" ${what} (${n} in all), not listed one by one.`
  if (flagged.warnings > MAX_ENTRIES_LISTED) problems.warn(more(flagged.warnings, 'have warnings'))
  if (flagged.errors > MAX_ENTRIES_LISTED) problems.error(more(flagged.errors, 'are invalid'))
  return flagged.errors > 0 ? undefined : list
}

// Ten thousand bad entries are one mistake repeated: the first few say
// what it is, a count says how far it goes.
const MAX_ENTRIES_LISTED = 20

/** Passes an entry's problems on, for the first MAX_ENTRIES_LISTED entries that have any. */
function relay(own: Problems, to: Problems, flagged: { errors: number; warnings: number }): void {
  if (own.errors.length > 0 && ++flagged.errors <= MAX_ENTRIES_LISTED) for (const e of own.errors) to.error(e)
  if (own.warnings.length > 0 && ++flagged.warnings <= MAX_ENTRIES_LISTED) for (const w of own.warnings) to.warn(w)
}

// A manifest nests four levels at most (list, entry, presigned answer,
// params); parsing megabytes of nesting takes seconds no deadline can stop.
const MAX_DEPTH = 32

/** Whether brackets outside strings nest deeper than `max`: one pass, no parsing. */
function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 || c === 123) {
      if (++depth > max) return true
    } else if (c === 93 || c === 125) depth--
  }
  return false
}

function parseJson(problems: Problems, name: string, text: string): unknown {
  if (nestsDeeperThan(text, MAX_DEPTH))
    return problems.error(
      `Input "${name}" nests lists or objects more than ${MAX_DEPTH} levels deep; a manifest needs 4.`
    )
  try {
    return JSON.parse(text) as unknown
  } catch (error) {
    // A script that appends each answer as it starts an upload writes JSON
    // Lines: one value a line.
    const lines = parseJsonLines(text)
    if (lines !== undefined) return lines
    return problems.error(
      `Input "${name}" is not valid JSON, nor JSON Lines (one value a line) (${parseError(error as Error)}).`
    )
  }
}

/** The parser's complaint without its excerpt of the text: a key pasted there would be quoted by it. */
function parseError(error: Error): string {
  return oneLine(error.message.replace(/, ".*" is not valid JSON$/s, ''), 80)
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

interface EntryInput {
  /** `uploads[3]`, or the input's name for a lone value. */
  readonly where: string
  readonly entry: unknown
  readonly defaultTestId: string | undefined
}

/** Where an entry's key and upload ID are: its own fields, or those of a presigned-URLs answer. */
interface Fields {
  readonly record: Record<string, unknown>
  readonly path: string
  readonly uploadIdField: string
}

function fieldsOf(where: string, record: Record<string, unknown>): Fields {
  const presigned = record['multipart_presigned_urls_params']
  if (isRecord(presigned)) {
    return { record: presigned, path: `${where}.multipart_presigned_urls_params`, uploadIdField: 'upload_id' }
  }
  // Datadog's own answers spell it upload_id.
  const uploadIdField = 'uploadId' in record || !('upload_id' in record) ? 'uploadId' : 'upload_id'
  return { record, path: where, uploadIdField }
}

function parseEntry(problems: Problems, input: EntryInput): Upload | undefined {
  const { where, entry } = input
  if (!isRecord(entry)) {
    return problems.error(`${where} must be an object with "key" and "uploadId", not ${describe(entry)}.`)
  }
  const fields = fieldsOf(where, entry)
  const key = stringField(problems, fields, 'key', LIMITS.keyChars)
  const uploadId = stringField(problems, fields, fields.uploadIdField, LIMITS.uploadIdChars)
  const testId = entryTestId(problems, input, entry, key)
  if (testId === undefined || key === undefined || uploadId === undefined) return undefined
  warnIfKeyOfOtherTest(problems, `${where}: `, { testId, key })
  return { testId, key, uploadId }
}

function entryTestId(
  problems: Problems,
  input: EntryInput,
  entry: Record<string, unknown>,
  key: string | undefined
): string | undefined {
  const own = entry['testId']
  if (own !== undefined) {
    if (typeof own !== 'string') return problems.error(`${input.where}.testId must be a string, not ${describe(own)}.`)
    // Half of a UTF-16 pair cannot go into a URL.
    if (!own.isWellFormed())
      return problems.error(
        `${input.where}.testId holds a lone surrogate (half of a \\uD800-\\uDFFF pair), which no URL can carry.`
      )
    return parseTestId(problems, `${input.where}.testId`, own.trim(), LIMITS.testIdChars)
  }
  if (input.defaultTestId !== undefined) return input.defaultTestId
  if (key === undefined) return undefined
  return (
    testIdFromKey(key) ??
    problems.error(
      `${input.where} has no "testId", the "test-id" input is empty, and its key does not name a test: give "testId" or set "test-id".`
    )
  )
}

function stringField(problems: Problems, fields: Fields, field: string, max: number): string | undefined {
  const value = fields.record[field]
  const label = `${fields.path}.${field}`
  if (value === undefined || value === null) return problems.error(`${label} is missing.`)
  if (typeof value !== 'string') return problems.error(`${label} must be a string, not ${describe(value)}.`)
  return checkField(problems, { label, value: value.trim(), max })
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  return typeof value === 'string' ? 'a string' : `a ${typeof value}`
}
