// What a Datadog client does against the emulator, written once for the
// emulator's tests, the end-to-end tests and the demo.
import { createHash } from 'node:crypto'
import { DEFAULT_KEYS, type BucketKeyPrefix, type UploadState } from './types.ts'

export interface CallOptions {
  /** A key left out is a header left out. */
  keys?: { apiKey?: string; appKey?: string }
  /** Sent as `Authorization: Bearer`, with no key unless `keys` names some. */
  token?: string
  method?: string
  signal?: AbortSignal
  redirect?: 'follow' | 'manual' | 'error'
}

export interface PresignedUrlsAnswer {
  bucketKey: string
  multipart_presigned_urls_params: { key: string; upload_id: string; urls: Record<string, string> }
}

export interface UploadRef {
  key: string
  uploadId: string
}

/** The `md5` Datadog asks for in the start request: base64, not hex. */
export const md5Base64 = (bytes: string | Buffer): string => createHash('md5').update(bytes).digest('base64')

/**
 * PUTs one part to its presigned URL and returns the ETag, quotes included, as
 * S3 sends it; Azure-style storage sends none, and that is the empty ETag
 * Datadog's uploader completes such a part with.
 */
export async function putPart(url: string, bytes: string | Buffer): Promise<string> {
  const res = await fetch(url, { method: 'PUT', body: bytes })
  if (!res.ok) throw new Error(`uploading a part answered ${res.status}: ${await res.text()}`)
  return res.headers.get('etag') ?? ''
}

// Callers pass a StartedUpload, which also carries urls and bucketKey.
const refOf = ({ key, uploadId }: UploadRef): UploadRef => ({ key, uploadId })

export class EmulatorClient {
  readonly baseUrl: string

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl
  }

  /** One call of the emulated Datadog API: a string body goes as it is, anything else as JSON. */
  call(testId: string, operation: string, body: unknown, options: CallOptions = {}): Promise<Response> {
    const keys = options.keys ?? (options.token === undefined ? DEFAULT_KEYS : {})
    const headers: Record<string, string> = { 'Content-Type': 'application/json' }
    if (keys.apiKey !== undefined) headers['DD-API-KEY'] = keys.apiKey
    if (keys.appKey !== undefined) headers['DD-APPLICATION-KEY'] = keys.appKey
    if (options.token !== undefined) headers['Authorization'] = `Bearer ${options.token}`
    const method = options.method ?? 'POST'
    return fetch(`${this.baseUrl}/api/v2/synthetics/tests/${encodeURIComponent(testId)}/files/${operation}`, {
      method,
      headers,
      body: method === 'POST' ? (typeof body === 'string' ? body : JSON.stringify(body)) : undefined,
      signal: options.signal,
      redirect: options.redirect
    })
  }

  /** Starts an upload of these parts as Datadog's clients do, and returns the answer in Datadog's words. */
  async start(
    testId: string,
    parts: (string | Buffer)[],
    prefix: BucketKeyPrefix = 'api-upload-file'
  ): Promise<PresignedUrlsAnswer> {
    const res = await this.call(testId, 'multipart-presigned-urls', {
      bucketKeyPrefix: prefix,
      parts: parts.map((part, i) => ({ md5: md5Base64(part), partNumber: i + 1 }))
    })
    if (res.status !== 200) throw new Error(`starting an upload answered ${res.status}: ${await res.text()}`)
    return (await res.json()) as PresignedUrlsAnswer
  }

  /** Completes an upload whose parts 1, 2, ... got these ETags. */
  complete(testId: string, upload: UploadRef, etags: string[]): Promise<Response> {
    const parts = etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 }))
    return this.call(testId, 'multipart-upload-complete', { ...refOf(upload), parts })
  }

  abort(testId: string, upload: UploadRef, options: CallOptions = {}): Promise<Response> {
    return this.call(testId, 'multipart-upload-abort', refOf(upload), options)
  }

  /** The emulator's own view of an upload, from its admin endpoint; undefined when it knows none. */
  async uploadState(uploadId: string): Promise<{ state: UploadState; storedBytes: number } | undefined> {
    const res = await fetch(`${this.baseUrl}/_emulator/uploads/${encodeURIComponent(uploadId)}`)
    if (res.status === 404) return undefined
    if (res.status !== 200) throw new Error(`the admin endpoint answered ${res.status}: ${await res.text()}`)
    return (await res.json()) as { state: UploadState; storedBytes: number }
  }
}
