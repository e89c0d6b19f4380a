import { describeJson, isRecord } from './json-values.js'
import type { Problems } from '../settings/problems.js'
import { LIMITS, type Upload } from '../settings/settings.js'
import { oneLine } from '../text/text.js'
import { checkField, parseTestId, swapped, testIdFromKey, warnAboutKey } from '../settings/upload.js'

// One value of a manifest: an entry (`{testId?, key, uploadId}`), Datadog's
// presigned-URLs answer as received or as its TypeScript client serializes
// it, a completion mark (`{"completed": <entry>}`), or an error answer that
// started nothing.

/** An upload a manifest value names, and whether it is a completion mark. */
export type Parsed = { readonly upload: Upload; readonly completed: boolean } | undefined

export interface EntryInput {
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
  // The same answer as Datadog's TypeScript client hands it over, and as
  // JSON.stringify of its result writes it.
  const camel = record['multipartPresignedUrlsParams']
  if (isRecord(camel)) {
    return { record: camel, path: `${where}.multipartPresignedUrlsParams`, uploadIdField: 'uploadId' }
  }
  // Datadog's own answers spell it upload_id.
  const uploadIdField = 'uploadId' in record || !('upload_id' in record) ? 'uploadId' : 'upload_id'
  return { record, path: where, uploadIdField }
}

export function parseEntry(problems: Problems, input: EntryInput): Parsed {
  const { where, entry } = input
  if (!isRecord(entry)) {
    return problems.error(`${where} must be an object with "key" and "uploadId", not ${describeJson(entry)}.`)
  }
  if (Array.isArray(entry['errors']) && !('key' in entry) && !isRecord(entry['multipart_presigned_urls_params'])) {
    // A refused start, appended as received: it opened no upload.
    problems.warn(
      `${where} is an error answer from Datadog (${oneLine(entry['errors'].map(e => (typeof e === 'string' ? e : JSON.stringify(e))).join('; '), 120)}): it started no upload, so there is nothing to abort for it.`
    )
    return undefined
  }
  const mark = entry['completed']
  if (mark !== undefined) {
    if (!isRecord(mark))
      return problems.error(
        `${where}.completed must be an object with "key" and "uploadId", not ${describeJson(mark)}.`
      )
    // A mark is matched by key and upload ID: it needs no test.
    const upload = uploadOf(problems, {
      where: `${where}.completed`,
      entry: mark,
      defaultTestId: input.defaultTestId ?? ''
    })
    return upload && { upload, completed: true }
  }
  const upload = uploadOf(problems, { ...input, entry })
  return upload && { upload, completed: false }
}

function uploadOf(problems: Problems, input: EntryInput & { entry: Record<string, unknown> }): Upload | undefined {
  const { where, entry } = input
  const fields = fieldsOf(where, entry)
  const key = stringField(problems, fields, 'key', LIMITS.keyChars)
  const uploadId = stringField(problems, fields, fields.uploadIdField, LIMITS.uploadIdChars)
  const pair = key !== undefined && uploadId !== undefined ? { key, uploadId } : undefined
  if (pair && swapped(problems, `${where}: "key" and "${fields.uploadIdField}"`, pair)) return undefined
  const testId = entryTestId(problems, input, entry, key)
  if (testId === undefined || key === undefined || uploadId === undefined) return undefined
  // A completion mark carries no test ('').
  if (testId !== '') warnAboutKey(problems, `${where}: `, { testId, key })
  return { testId, key, uploadId, entry: where }
}

function entryTestId(
  problems: Problems,
  input: EntryInput,
  entry: Record<string, unknown>,
  key: string | undefined
): string | undefined {
  const own = entry['testId']
  if (own !== undefined) {
    if (typeof own !== 'string')
      return problems.error(`${input.where}.testId must be a string, not ${describeJson(own)}.`)
    // Half of a UTF-16 pair cannot go into a URL.
    if (!own.isWellFormed())
      return problems.error(
        `${input.where}.testId holds a lone surrogate (half of a \\uD800-\\uDFFF pair), which no URL can carry.`
      )
    return parseTestId(problems, `${input.where}.testId`, own.trim(), key)
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
  if (typeof value !== 'string') return problems.error(`${label} must be a string, not ${describeJson(value)}.`)
  return checkField(problems, { label, value: value.trim(), max })
}
