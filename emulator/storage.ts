// The multipart uploads and their state, as Datadog's storage keeps them:
// no HTTP here, so the rules of the flow can be tested with plain values.
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { UploadState } from './types.ts'

interface StoredPart {
  bytes: Buffer
  etag: string
}

export interface Upload {
  testId: string
  key: string
  bucketKey: string
  uploadId: string
  state: UploadState
  parts: Map<number, StoredPart>
}

export interface CompletedPart {
  ETag: string
  PartNumber: number
}

export class UploadStore {
  private readonly uploads = new Map<string, Upload>()
  // Completed uploads by bucketKey: how a test refers to its file afterwards.
  private readonly files = new Map<string, Upload>()

  start(testId: string, prefix: string, now = new Date()): Upload {
    const bucketKey = `${prefix}/${testId}/${now.toISOString().slice(0, 19)}_${randomUUID()}.json`
    const upload: Upload = {
      testId,
      key: `org-1/${bucketKey}`,
      bucketKey,
      uploadId: randomBytes(24).toString('base64url'),
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

  /** Stores a part of an open upload and returns its ETag, or undefined when there is no such upload. */
  putPart(uploadId: string, partNumber: number, bytes: Buffer): string | undefined {
    const upload = this.uploads.get(uploadId)
    if (upload?.state !== 'open') return undefined
    const etag = createHash('md5').update(bytes).digest('hex')
    upload.parts.set(partNumber, { bytes, etag })
    return etag
  }

  /** Completes the upload when every part listed was stored with that ETag; else says which was not. */
  complete(upload: Upload, parts: CompletedPart[]): string | undefined {
    for (const part of parts) {
      const stored = upload.parts.get(part.PartNumber)
      // S3 takes the ETag with or without its surrounding quotes.
      if (!stored || stored.etag !== part.ETag.replaceAll('"', '')) {
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
