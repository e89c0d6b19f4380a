// The router: which answer each request gets. Datadog's API calls are
// rate limited, authorised and validated here, then handed to the storage
// model; presigned storage URLs and the emulator's admin endpoints too.
import { createHmac, randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { RateLimiter } from './ratelimit.ts'
import { refusal } from './auth.ts'
import { errorReply, isRecord, jsonReply, withHeaders, type Reply } from './reply.ts'
import { PART_PATH, partReply, STYLES, styleOf } from './presigned.ts'
import type { UploadStore } from './storage.ts'
import type { AccessToken, EmulatorStats, KeyPair, StartedUpload, StorageKind } from './types.ts'

import type { Operation } from './auth.ts'

export type { Operation }

export const API_PATH =
  /^\/api\/v2\/synthetics\/tests\/([^/]+)\/files\/(multipart-presigned-urls|multipart-upload-complete|multipart-upload-abort|download)$/
const DOWNLOAD_PATH = /^\/_download\/([^/]+)$/
const ADMIN_UPLOAD_PATH = /^\/_emulator\/uploads\/([^/]+)$/

// S3 caps a multipart upload at 10,000 parts; Datadog inherits that.
const MAX_PART_NUMBER = 10_000
const BUCKET_PREFIXES = new Set(['api-upload-file', 'browser-upload-file-step'])
// Base64 of the 16 bytes of an MD5: 24 characters padded, 22 without the padding.
const MD5_BASE64 = /^[A-Za-z0-9+/]{22}={0,2}$/
export function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

function requireString(body: Record<string, unknown>, field: string): string | Reply {
  const value = body[field]
  if (value === undefined) return errorReply(400, `Missing required field '${field}'`)
  if (typeof value !== 'string' || value === '') {
    return errorReply(400, `Field '${field}' must be a non-empty string`)
  }
  return value
}

function partNumbersOf(parts: unknown): number[] | Reply {
  if (!Array.isArray(parts) || parts.length === 0) return errorReply(400, `Field 'parts' must be a non-empty array`)
  const numbers: number[] = []
  for (const part of parts) {
    if (!isRecord(part) || typeof part.md5 !== 'string' || !MD5_BASE64.test(part.md5)) {
      return errorReply(400, `Each of 'parts' needs an 'md5': the base64 MD5 of the part, 22 to 24 characters`)
    }
    const n = part.partNumber
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_PART_NUMBER) {
      return errorReply(400, `Each of 'parts' needs an integer 'partNumber' from 1 to ${MAX_PART_NUMBER}`)
    }
    if (numbers.includes(n)) return errorReply(400, `Duplicate partNumber ${n}`)
    numbers.push(n)
  }
  return numbers
}

export interface RouterOptions {
  store: UploadStore
  limiter: RateLimiter
  keyPairs: KeyPair[]
  accessTokens: AccessToken[]
  tests: ReadonlySet<string>
  stats: () => EmulatorStats
  storage: StorageKind
}

export class Router {
  /** Where presigned URLs point: known once the server listens. */
  baseUrl = ''
  /** The storage of the uploads started from now on. */
  storageKind: StorageKind
  private readonly options: RouterOptions
  // Signing presigned URLs lets the storage tell a URL it issued from a
  // guessed one, as S3 does, without a Datadog key on the request.
  private readonly secret = randomBytes(32)

  constructor(options: RouterOptions) {
    this.options = options
    this.storageKind = options.storage
  }

  startUpload(testId: string, partNumbers: number[], prefix: string): StartedUpload {
    const upload = this.options.store.start(testId, prefix, this.storageKind)
    const style = STYLES[this.storageKind]
    const urls: Record<string, string> = {}
    for (const n of partNumbers)
      urls[String(n)] = this.signedUrl(`${style.path}/${upload.uploadId}/${n}`, style.signature)
    return { key: upload.key, uploadId: upload.uploadId, urls, bucketKey: upload.bucketKey }
  }

  api(req: IncomingMessage, testId: string, op: Operation, raw: Buffer): Reply {
    const limit = this.options.limiter.consume()
    return withHeaders(
      limit.allowed ? this.checkedApi(req, testId, op, raw) : errorReply(429, 'Too many requests'),
      limit.headers
    )
  }

  /** Presigned storage URLs and the admin endpoints; 404 for anything else. */
  other(req: IncomingMessage, url: URL, raw: Buffer): Reply {
    return this.storage(req, url, raw) ?? this.admin(req, url) ?? errorReply(404, 'Not found')
  }

  private sign(path: string): string {
    return createHmac('sha256', this.secret).update(path).digest('hex')
  }

  private signedUrl(path: string, parameter = STYLES.s3.signature): string {
    return `${this.baseUrl}${path}?${parameter}=${this.sign(path)}`
  }

  private checkedApi(req: IncomingMessage, testId: string, op: Operation, raw: Buffer): Reply {
    if (req.method !== 'POST') return withHeaders(errorReply(405, 'Method not allowed'), { Allow: 'POST' })
    const refused = refusal(req, op, this.options)
    if (refused) return refused
    if (!this.options.tests.has(testId)) return errorReply(404, `Synthetic test ${testId} not found`)
    let body: unknown
    try {
      body = JSON.parse(raw.toString('utf8'))
    } catch {
      return errorReply(400, 'Request body is not valid JSON')
    }
    if (!isRecord(body)) return errorReply(400, 'Request body must be a JSON object')
    switch (op) {
      case 'multipart-presigned-urls':
        return this.start(testId, body)
      case 'multipart-upload-complete':
      case 'multipart-upload-abort':
        return this.finish(testId, op, body)
      case 'download':
        return this.download(testId, body)
    }
  }

  private start(testId: string, body: Record<string, unknown>): Reply {
    const prefix = body.bucketKeyPrefix
    if (typeof prefix !== 'string' || !BUCKET_PREFIXES.has(prefix)) {
      return errorReply(400, `Field 'bucketKeyPrefix' must be one of: ${[...BUCKET_PREFIXES].join(', ')}`)
    }
    const numbers = partNumbersOf(body.parts)
    if (!Array.isArray(numbers)) return numbers
    const started = this.startUpload(testId, numbers, prefix)
    return jsonReply(200, {
      bucketKey: started.bucketKey,
      multipart_presigned_urls_params: { key: started.key, upload_id: started.uploadId, urls: started.urls }
    })
  }

  // Complete and abort both name an open upload of this test.
  private finish(testId: string, op: Operation, body: Record<string, unknown>): Reply {
    const key = requireString(body, 'key')
    if (typeof key !== 'string') return key
    const uploadId = requireString(body, 'uploadId')
    if (typeof uploadId !== 'string') return uploadId
    const upload = this.options.store.findOpen(testId, key, uploadId)
    if (typeof upload === 'string') return errorReply(404, upload)
    if (op === 'multipart-upload-abort') {
      this.options.store.abort(upload)
      return { status: 204 }
    }
    const parts = body.parts
    if (!Array.isArray(parts) || parts.length === 0) return errorReply(400, `Field 'parts' must be a non-empty array`)
    for (const part of parts) {
      if (!isRecord(part) || typeof part.ETag !== 'string' || typeof part.PartNumber !== 'number') {
        return errorReply(400, `Each of 'parts' needs a string 'ETag' and a number 'PartNumber'`)
      }
    }
    const refused = this.options.store.complete(upload, parts as { ETag: string; PartNumber: number }[])
    return refused === undefined ? { status: 204 } : errorReply(400, refused)
  }

  private download(testId: string, body: Record<string, unknown>): Reply {
    const bucketKey = requireString(body, 'bucketKey')
    if (typeof bucketKey !== 'string') return bucketKey
    const file = this.options.store.file(testId, bucketKey)
    if (!file) return errorReply(404, 'File not found')
    return jsonReply(200, { url: this.signedUrl(`/_download/${file.uploadId}`) })
  }

  private storage(req: IncomingMessage, url: URL, raw: Buffer): Reply | undefined {
    const part = PART_PATH.exec(url.pathname)
    if (part) return this.part(req, url, part, raw)
    const get = DOWNLOAD_PATH.exec(url.pathname)
    if (!get) return undefined
    const { refusals } = STYLES.s3
    if (url.searchParams.get(STYLES.s3.signature) !== this.sign(url.pathname)) return refusals['bad-signature']
    if (req.method !== 'GET') return { status: 405, headers: { Allow: 'GET' } }
    const contents = this.options.store.contents(get[1] ?? '')
    if (!contents) return refusals['no-such-upload']
    return { status: 200, headers: { 'Content-Type': 'application/json' }, body: contents }
  }

  // A signed path names its own storage, so it answers in that storage's words.
  private part(req: IncomingMessage, url: URL, [, prefix, uploadId, n]: RegExpExecArray, raw: Buffer): Reply {
    const style = styleOf(prefix)
    if (url.searchParams.get(style.signature) !== this.sign(url.pathname)) return style.refusals['bad-signature']
    if (req.method !== 'PUT') return { status: 405, headers: { Allow: 'PUT' } }
    const md5 = req.headers['content-md5']
    return partReply(
      style,
      this.options.store.putPart(uploadId ?? '', Number(n), raw, typeof md5 === 'string' ? md5 : undefined)
    )
  }

  private admin(req: IncomingMessage, url: URL): Reply | undefined {
    const uploadMatch = ADMIN_UPLOAD_PATH.exec(url.pathname)
    if (!uploadMatch && url.pathname !== '/_emulator/stats') return undefined
    if (req.method !== 'GET') return withHeaders(errorReply(405, 'Method not allowed'), { Allow: 'GET' })
    if (!uploadMatch) return jsonReply(200, this.options.stats())
    const id = decodeSegment(uploadMatch[1] ?? '') ?? ''
    const state = this.options.store.state(id)
    if (!state) return errorReply(404, 'Upload not found')
    return jsonReply(200, { state, storedBytes: this.options.store.storedBytes(id) })
  }
}
