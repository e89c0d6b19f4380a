// The multipart uploads and their state, as Datadog's storage keeps them:
// no HTTP here, so the rules of the flow can be tested with plain values.
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { StorageKind, UploadState } from './types.ts'

interface StoredPart {
  bytes: Buffer
  // Hex MD5 of the bytes, as S3 makes a part's ETag.
  etag: string
}

export interface Upload {
  testId: string
  key: string
  bucketKey: string
  uploadId: string
  storage: StorageKind
  state: UploadState
  parts: Map<number, StoredPart>
}

/** Why a part PUT was refused: no open upload, a Content-MD5 that is not one, or one that does not match the bytes. */
export type PartRefusal = 'no-such-upload' | 'invalid-md5' | 'md5-mismatch'

/** A stored part's ETag (none on Azure-style storage), or why the part was refused. */
export type PartAnswer = { etag: string | undefined } | { refused: PartRefusal }

/** The 16 bytes a Content-MD5 header names, or undefined when it is not canonical base64 of 16 bytes. */
function md5Of(header: string): Buffer | undefined {
  const bytes = Buffer.from(header, 'base64')
  return bytes.length === 16 && bytes.toString('base64') === header ? bytes : undefined
}

export interface CompletedPart {
  ETag: string
  PartNumber: number
}

export class UploadStore {
  private readonly uploads = new Map<string, Upload>()
  // Completed uploads by bucketKey: how a test refers to its file afterwards.
  private readonly files = new Map<string, Upload>()

  start(testId: string, prefix: string, storage: StorageKind = 's3', now = new Date()): Upload {
    const bucketKey = `${prefix}/${testId}/${now.toISOString().slice(0, 19)}_${randomUUID()}.json`
    const upload: Upload = {
      testId,
      key: `org-1/${bucketKey}`,
      bucketKey,
      uploadId: randomBytes(24).toString('base64url'),
      storage,
      state: 'open',
      parts: new Map()
    }
    this.uploads.set(upload.uploadId, upload)
    return upload
  }

  /** The open upload that `key` and `uploadId` name for this test, or why there is none. */
  findOpen(testId: string, key: string, uploadId: string): Upload | string {
    const upload = this.uploads.get(uploadId)
    if (!upload) return 'Upload not found'
    if (upload.key !== key) return 'Upload not found: key does not match uploadId'
    if (upload.testId !== testId) return `Upload not found for test ${testId}`
    if (upload.state !== 'open') return `Upload not found: already ${upload.state}`
    return upload
  }

  /** Stores a part of an open upload whose bytes match `contentMd5` when it is given, as S3 and Azure check it. */
  putPart(uploadId: string, partNumber: number, bytes: Buffer, contentMd5?: string): PartAnswer {
    const upload = this.uploads.get(uploadId)
    if (upload?.state !== 'open') return { refused: 'no-such-upload' }
    const md5 = createHash('md5').update(bytes).digest()
    if (contentMd5 !== undefined) {
      const claimed = md5Of(contentMd5)
      if (!claimed) return { refused: 'invalid-md5' }
      if (!claimed.equals(md5)) return { refused: 'md5-mismatch' }
    }
    const etag = md5.toString('hex')
    upload.parts.set(partNumber, { bytes, etag })
    return { etag: upload.storage === 's3' ? etag : undefined }
  }

  /** Completes the upload when every part listed was stored, with that ETag on S3; else says which was not. */
  complete(upload: Upload, parts: CompletedPart[]): string | undefined {
    for (const part of parts) {
      const stored = upload.parts.get(part.PartNumber)
      // S3 takes the ETag with or without its surrounding quotes. Azure gave
      // none: Datadog's backend ignores the ETag there (datadog-ci sends "").
      const etagOk = upload.storage === 'azure' || stored?.etag === part.ETag.replaceAll('"', '')
      if (!stored || !etagOk) {
        return `Part ${part.PartNumber} was not uploaded or its ETag does not match`
      }
    }
    upload.state = 'completed'
    this.files.set(upload.bucketKey, upload)
    return undefined
  }

  abort(upload: Upload): void {
    upload.state = 'aborted'
    upload.parts.clear()
  }

  file(testId: string, bucketKey: string): Upload | undefined {
    const upload = this.files.get(bucketKey)
    return upload?.testId === testId ? upload : undefined
  }

  /** The bytes of a completed upload, its parts in order. */
  contents(uploadId: string): Buffer | undefined {
    const upload = this.uploads.get(uploadId)
    if (upload?.state !== 'completed') return undefined
    return Buffer.concat([...upload.parts.entries()].sort(([a], [b]) => a - b).map(([, part]) => part.bytes))
  }

  state(uploadId: string): UploadState | undefined {
    return this.uploads.get(uploadId)?.state
  }

  storedBytes(uploadId: string): number {
    let total = 0
    for (const part of this.uploads.get(uploadId)?.parts.values() ?? []) total += part.bytes.length
    return total
  }

  openCount(): number {
    return [...this.uploads.values()].filter(upload => upload.state === 'open').length
  }
}
