import type { Problems } from './problems.js'
import { hasControl, quote } from '../text/text.js'

// The rules for the three values that name one upload: a test's public ID,
// the file's key and the upload ID.

const PUBLIC_ID_SHAPE = /^[a-z0-9]{3}-[a-z0-9]{3}-[a-z0-9]{3}$/

/**
 * Said only where wiring is likely: one of key / upload-id empty while the
 * other is set, or both empty while nothing else names an upload.
 */
export const MISSING_OUTPUT_HINT =
  'If it comes from a step output, that output was never set: check the step id and output name, ' +
  "or guard this step with `if: steps.<step id>.outputs.<output name> != ''`."

const SHAPE_WORDS = 'three groups of three lower-case letters or digits, like abc-def-123'

/** A field that names an upload: where it came from, its value and its length limit. */
export interface Field {
  /** `Input "key"` or `uploads[3].uploadId`. */
  readonly label: string
  readonly value: string
  readonly max: number
}

/** The value, trimmed, when it is non-empty, one line and within its limit. */
export function checkField(problems: Problems, field: Field): string | undefined {
  const { label, value, max } = field
  if (value === '') return problems.error(`${label} is empty.`)
  if (hasControl(value))
    return problems.error(`${label} contains control characters or line breaks; paste the value alone.`)
  if (value.length > max)
    return problems.error(`${label} is ${value.length} characters long; at most ${max} are accepted.`)
  return value
}

/**
 * A test's public ID, or a pasted test URL whose path holds one. Anything
 * else is refused before a request that could only come back 404; `key`,
 * when it names a test, is offered as the likely one.
 */
export function parseTestId(problems: Problems, label: string, value: string, key = ''): string | undefined {
  if (value === '')
    return problems.error(`${label} is empty: give the public ID of the Synthetic test (like abc-def-123).`)
  if (/^https?:\/\//i.test(value)) {
    let segments: string[] = []
    try {
      segments = new URL(value).pathname.split('/').filter(Boolean)
    } catch {
      /* reported below */
    }
    const id = [...segments].reverse().find(s => PUBLIC_ID_SHAPE.test(s.toLowerCase()))
    if (id === undefined)
      return problems.error(`${label} is a URL with no test public ID (like abc-def-123) in its path.`)
    return id.toLowerCase()
  }
  // Public IDs are lower case; one typed in capitals is the same test.
  if (PUBLIC_ID_SHAPE.test(value.toLowerCase())) return value.toLowerCase()
  const owner = testIdFromKey(key)
  const guess = owner === undefined ? '' : ` The key names test ${owner}; did you mean that?`
  return problems.error(
    `${label} is ${quote(value, 64)}, which is not a test public ID: that is ${SHAPE_WORDS} (on the test's page).${guess}`
  )
}

/** Datadog's keys embed the test: `<org>/<prefix>/<public id>/<file>`. */
export function testIdFromKey(key: string): string | undefined {
  const segment = key.split('/')[2]
  return segment !== undefined && PUBLIC_ID_SHAPE.test(segment) ? segment : undefined
}

// The start answer's bucketKey begins with its bucketKeyPrefix; the key the
// abort takes is the full storage path, with the organisation in front.
const BUCKET_KEY_PREFIXES = ['api-upload-file/', 'browser-upload-file-step/']

/**
 * Warns, before any request, about a key that cannot be right: one that
 * looks like the bucketKey, or one that names another test than the one the
 * abort goes to.
 */
export function warnAboutKey(problems: Problems, prefix: string, upload: { testId: string; key: string }): void {
  if (BUCKET_KEY_PREFIXES.some(p => upload.key.startsWith(p))) {
    problems.warn(
      `${prefix}the key ${quote(upload.key, 80)} looks like the bucketKey of Datadog's presigned-URLs answer; the abort takes multipart_presigned_urls_params.key (the full storage path), and Datadog answers 404 for a bucketKey.`
    )
  }
  const owner = testIdFromKey(upload.key)
  if (owner !== undefined && owner !== upload.testId) {
    problems.warn(
      `${prefix}the key belongs to test ${owner}, but the upload is aborted under test ${upload.testId}; Datadog answers 404 for an upload of another test.`
    )
  }
}

/**
 * A key is a storage path (`<org>/<kind>/<public id>/<file>`) and an upload
 * ID has no slash: a pair the other way round was swapped when it was wired.
 */
export function swapped(problems: Problems, names: string, upload: { key: string; uploadId: string }): boolean {
  if (!upload.uploadId.includes('/') || upload.key.includes('/')) return false
  problems.error(
    `${names} look swapped: the key is the storage path (with "/"), the upload ID has no "/". Check which answer field feeds which.`
  )
  return true
}
