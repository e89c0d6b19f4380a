import { inputSource, parseManifest } from '../manifest/read.js'
import type { Problems } from '../settings/problems.js'
import { LIMITS, type Upload } from '../settings/settings.js'
import { quote } from '../text/text.js'
import {
  checkField,
  MISSING_OUTPUT_HINT,
  parseTestId,
  swapped,
  testIdFromKey,
  warnAboutKey
} from '../settings/upload.js'

/** The upload inputs, trimmed. */
export interface UploadInputs {
  readonly testId: string
  readonly key: string
  readonly uploadId: string
  readonly uploads: string
  readonly uploadsFile: string
}

export interface Uploads {
  readonly list: Upload[]
  /** Many uploads from a manifest, or the one of test-id / key / upload-id. */
  readonly batch: boolean
}

const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file (paths are relative to the workspace)',
  EACCES: 'permission denied',
  EISDIR: 'a directory, not a file',
  ENOTREG: 'not a regular file',
  EFBIG: `larger than ${LIMITS.uploadsFileBytes / 1024 / 1024} MiB`
}

/**
 * Decides between one upload (test-id, key, upload-id) and many (uploads or
 * uploads-file), and parses whichever was given.
 */
export function parseUploads(
  problems: Problems,
  inputs: UploadInputs,
  readFile: (path: string) => string
): Uploads | undefined {
  const given = <Name extends string>(pairs: [Name, string][]): Name[] =>
    pairs.filter(([, value]) => value !== '').map(([name]) => name)
  const single = given([
    ['key', inputs.key],
    ['upload-id', inputs.uploadId]
  ])
  const manifests = given<'uploads' | 'uploads-file'>([
    ['uploads', inputs.uploads],
    ['uploads-file', inputs.uploadsFile]
  ])
  const [manifest] = manifests
  if (manifests.length === 2) return problems.error('Give either "uploads" or "uploads-file", not both.')
  if (manifest && single.length > 0) {
    const named = single.map(n => `"${n}"`).join(' and ')
    return problems.error(
      `Give either the single upload ("key" and "upload-id") or the list ("${manifest}"), not both: ${named} ${single.length > 1 ? 'are' : 'is'} set too.`
    )
  }

  const testId = inputs.testId ? parseTestId(problems, 'Input "test-id"', inputs.testId, inputs.key) : undefined
  if (!manifest) return singleUpload(problems, inputs, testId)

  let text = inputs.uploads
  if (manifest === 'uploads-file') {
    try {
      text = readFile(inputs.uploadsFile)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable'
      const why = FILE_ERRORS[code] ?? 'unreadable'
      return problems.error(`Input "uploads-file": cannot read ${quote(inputs.uploadsFile)}: ${why} (${code}).`)
    }
  }
  const list = parseManifest(problems, inputSource(manifest), text, testId)
  return list && { list, batch: true }
}

function singleUpload(problems: Problems, inputs: UploadInputs, testId: string | undefined): Uploads | undefined {
  if (!inputs.key && !inputs.uploadId) {
    return problems.error(
      'Inputs "key" and "upload-id" are empty: give both, from the answer that started the upload, ' +
        `or many uploads in "uploads" or "uploads-file". ${MISSING_OUTPUT_HINT}`
    )
  }
  const field = (name: string, value: string, other: string, max: number): string | undefined =>
    value === ''
      ? problems.error(`Input "${name}" is empty while "${other}" is set. ${MISSING_OUTPUT_HINT}`)
      : checkField(problems, { label: `Input "${name}"`, value, max })
  const key = field('key', inputs.key, 'upload-id', LIMITS.keyChars)
  const uploadId = field('upload-id', inputs.uploadId, 'key', LIMITS.uploadIdChars)
  if (key === undefined || uploadId === undefined) return undefined
  if (swapped(problems, 'Inputs "key" and "upload-id"', { key, uploadId })) return undefined
  if (inputs.testId) {
    if (testId === undefined) return undefined
    warnAboutKey(problems, '', { testId, key })
    return { list: [{ testId, key, uploadId }], batch: false }
  }
  const owner = testIdFromKey(key)
  if (owner === undefined) {
    warnAboutKey(problems, '', { testId: '', key })
    return problems.error(
      'Input "test-id" is empty and the key does not name a test (Datadog\'s keys hold it: <org>/<kind>/<public id>/<file>): ' +
        'give the public ID of the Synthetic test, like abc-def-123.'
    )
  }
  return { list: [{ testId: owner, key, uploadId }], batch: false }
}
