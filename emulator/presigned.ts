// The storages behind the presigned URLs, as a client sees them: where each
// one's part URLs lead on the emulator, how it answers a part, and its own
// words for a refusal. S3 (and R2) answer a part with 200 and an ETag; Azure
// Blob Storage, behind some Datadog sites (US3), answers Put Block with 201
// and none. Both live on the emulator's 127.0.0.1, told apart by path prefix.
import type { Reply } from './reply.ts'
import type { PartAnswer, PartRefusal } from './storage.ts'
import { STORAGE_KINDS, type StorageKind } from './types.ts'

export const PART_PATH = /^(\/_presigned|\/_azure)\/([^/]+)\/(\d+)$/

const xmlError = (status: number, code: string, message: string): Reply => ({
  status,
  headers: { 'Content-Type': 'application/xml' },
  body: `<Error><Code>${code}</Code><Message>${message}</Message></Error>`
})

export interface StorageStyle {
  path: string
  /** The query parameter the URL's signature travels in. */
  signature: string
  refusals: Record<PartRefusal | 'bad-signature', Reply>
}

export const STYLES: Record<StorageKind, StorageStyle> = {
  s3: {
    path: '/_presigned',
    signature: 'X-Signature',
    refusals: {
      'bad-signature': xmlError(403, 'SignatureDoesNotMatch', 'The request signature does not match.'),
      'no-such-upload': xmlError(404, 'NoSuchUpload', 'The specified upload does not exist.'),
      'invalid-md5': xmlError(400, 'InvalidDigest', 'The Content-MD5 you specified is not valid.'),
      'md5-mismatch': xmlError(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.')
    }
  },
  azure: {
    path: '/_azure',
    // An Azure shared access signature carries its signature in `sig`.
    signature: 'sig',
    refusals: {
      'bad-signature': xmlError(403, 'AuthenticationFailed', 'Server failed to authenticate the request.'),
      'no-such-upload': xmlError(404, 'ResourceNotFound', 'The specified resource does not exist.'),
      'invalid-md5': xmlError(400, 'InvalidMd5', 'The MD5 value specified in the request is invalid.'),
      'md5-mismatch': xmlError(400, 'Md5Mismatch', 'The MD5 value specified in the request did not match.')
    }
  }
}

/** The storage whose part URLs start with this path prefix (one PART_PATH matched). */
export const styleOf = (prefix: string | undefined): StorageStyle =>
  STYLES[STORAGE_KINDS.find(kind => STYLES[kind].path === prefix) ?? 's3']

/** What the storage answers to a part PUT: the stored part, or the refusal in its own words. */
export function partReply(style: StorageStyle, answer: PartAnswer): Reply {
  if ('refused' in answer) return style.refusals[answer.refused]
  return answer.etag === undefined ? { status: 201 } : { status: 200, headers: { ETag: `"${answer.etag}"` } }
}
