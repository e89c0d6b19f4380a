// A local stand-in for Datadog's synthetics test-file multipart API, faithful
// enough that the action, its tests, the demo and the benchmark can exercise
// every answer the real service (or a proxy in front of it) can give.
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto'
import {
  createServer,
  STATUS_CODES,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse
} from 'node:http'
import type { AddressInfo } from 'node:net'

export interface KeyPair {
  apiKey: string
  appKey: string
  permissions: string[]
}

export type Fault =
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  | { kind: 'abort-then-status'; status: number; body?: string }
  | { kind: 'abort-then-reset' }
  | { kind: 'reset' }
  | { kind: 'stall-before-headers' }
  | { kind: 'stall-mid-body'; status?: number }
  | { kind: 'reset-mid-body'; status?: number }
  | { kind: 'truncated'; status?: number }
  | { kind: 'trickle'; status?: number; intervalMs?: number }
  | { kind: 'huge-body'; status?: number; bytes?: number }
  | { kind: 'redirect'; status?: number; location: string }
  | { kind: 'html'; status: number }

export interface RateLimit {
  limit: number
  periodSeconds: number
  name?: string
}

export interface ResponseLog {
  method: string
  // Query strings are left out: presigned URLs carry their signature there.
  path: string
  // Undefined when the socket went away before any status line was sent.
  status: number | undefined
  fault: Fault['kind'] | undefined
  ms: number
}

export interface EmulatorOptions {
  keyPairs?: KeyPair[]
  tests?: string[]
  latencyMs?: number
  rateLimit?: RateLimit
  faults?: Fault[]
  port?: number
  onResponse?: (entry: ResponseLog) => void
}

export const DEFAULT_KEYS: KeyPair = {
  // Distinct, unrelated hex strings, so a test can spot any piece of either.
  apiKey: '5f0c3a9e1b7d4c2e8a6f0b1d3e5c7a92',
  appKey: 'c81e4b7a2d9f6035e1b8c4a7d2f9063b5e8a1c47',
  permissions: ['synthetics_write']
}

export interface RecordedRequest {
  method: string
  path: string
  headers: Record<string, string | string[] | undefined>
  body: string
  receivedAt: number
}

export interface StartedUpload {
  key: string
  uploadId: string
  urls: Record<string, string>
  bucketKey: string
}

export type UploadState = 'open' | 'completed' | 'aborted'

export interface EmulatorStats {
  requests: number
  aborts: number
  rateLimited: number
  maxConcurrent: number
}

export interface Emulator {
  url: string
  port: number
  requests: RecordedRequest[]
  abortRequests(): RecordedRequest[]
  startUpload(testId: string, parts?: number, prefix?: 'api-upload-file' | 'browser-upload-file-step'): StartedUpload
  uploadState(uploadId: string): UploadState | undefined
  storedBytes(uploadId: string): number
  openUploads(): number
  setFaults(faults: Fault[]): void
  setRateLimit(rl: RateLimit | undefined): void
  setLatency(ms: number): void
  stats(): EmulatorStats
  close(): Promise<void>
}

type Operation = 'multipart-presigned-urls' | 'multipart-upload-complete' | 'multipart-upload-abort' | 'download'

interface Reply {
  status: number
  headers?: OutgoingHttpHeaders
  body?: string | Buffer
}

interface Upload {
  testId: string
  key: string
  bucketKey: string
  uploadId: string
  state: UploadState
  requestedParts: Set<number>
  parts: Map<number, { bytes: Buffer; etag: string }>
}

const API_PATH =
  /^\/api\/v2\/synthetics\/tests\/([^/]+)\/files\/(multipart-presigned-urls|multipart-upload-complete|multipart-upload-abort|download)$/
const PRESIGNED_PUT_PATH = /^\/_presigned\/([^/]+)\/(\d+)$/
const DOWNLOAD_PATH = /^\/_download\/([^/]+)$/
const ADMIN_UPLOAD_PATH = /^\/_emulator\/uploads\/([^/]+)$/

const MAX_BODY_BYTES = 1024 * 1024
const CHUNK_BYTES = 64 * 1024
const FILLER = Buffer.alloc(CHUNK_BYTES, 'x')
// S3 caps a multipart upload at 10,000 parts; Datadog inherits that.
const MAX_PART_NUMBER = 10_000
const BUCKET_PREFIXES = new Set(['api-upload-file', 'browser-upload-file-step'])
const WRITE_PERMISSIONS = ['synthetics_write', 'synthetics_create_edit_trigger']

const jsonReply = (status: number, value: unknown): Reply => ({
  status,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(value)
})
const errorReply = (status: number, ...errors: string[]): Reply => jsonReply(status, { errors })
const withHeaders = (reply: Reply, headers: OutgoingHttpHeaders): Reply => ({
  ...reply,
  headers: { ...reply.headers, ...headers }
})
const reasonOf = (status: number): string => STATUS_CODES[status] ?? 'Error'
const md5Hex = (bytes: Buffer): string => createHash('md5').update(bytes).digest('hex')
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

function send(res: ServerResponse, reply: Reply): void {
  const body = reply.body ?? ''
  res.writeHead(reply.status, { ...reply.headers, 'Content-Length': Buffer.byteLength(body) })
  res.end(body)
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

// Bodies over the cap are still drained so the client gets to read the 413
// instead of a broken pipe while it is still sending.
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size <= MAX_BODY_BYTES) chunks.push(chunk)
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks)
}

function requireString(body: Record<string, unknown>, field: string): string | Reply {
  const value = body[field]
  if (value === undefined) return errorReply(400, `Missing required field '${field}'`)
  if (typeof value !== 'string' || value === '') {
    return errorReply(400, `Field '${field}' must be a non-empty string`)
  }
  return value
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const keyPairs = options.keyPairs ?? [DEFAULT_KEYS]
  const tests = new Set(options.tests ?? ['abc-def-123', 'xyz-uvw-789'])
  const requests: RecordedRequest[] = []
  const uploads = new Map<string, Upload>()
  const downloads = new Map<string, Upload>()
  const timers = new Set<NodeJS.Timeout>()
  // Signing presigned URLs lets the PUT handler tell a URL it issued from a
  // guessed one, as S3 does, without a Datadog key on the request.
  const secret = randomBytes(32)
  let faults = [...(options.faults ?? [])]
  let latencyMs = options.latencyMs ?? 0
  let rateLimit = options.rateLimit
  let windowStart = Date.now()
  let windowIndex = 0
  let windowCount = 0
  let rateLimited = 0
  let abortsInFlight = 0
  let maxConcurrent = 0
  let baseUrl = ''

  const later = (ms: number, fn: () => void): NodeJS.Timeout => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      fn()
    }, ms)
    timers.add(timer)
    return timer
  }
  const every = (ms: number, fn: () => void): NodeJS.Timeout => {
    const timer = setInterval(fn, ms)
    timers.add(timer)
    return timer
  }
  const cancel = (timer: NodeJS.Timeout): void => {
    clearTimeout(timer)
    timers.delete(timer)
  }
  // On close the pending timer is cleared and the promise never settles; the
  // socket it would have answered is destroyed at the same moment.
  const sleep = (ms: number): Promise<void> => (ms > 0 ? new Promise(resolve => later(ms, resolve)) : Promise.resolve())

  const sign = (path: string): string => createHmac('sha256', secret).update(path).digest('hex')
  const signedUrl = (path: string): string => `${baseUrl}${path}?X-Signature=${sign(path)}`

  function createUpload(testId: string, partNumbers: number[], prefix: string): StartedUpload {
    const stamp = new Date().toISOString().slice(0, 19)
    const bucketKey = `${prefix}/${testId}/${stamp}_${randomUUID()}.json`
    const upload: Upload = {
      testId,
      key: `org-1/${bucketKey}`,
      bucketKey,
      uploadId: randomBytes(24).toString('base64url'),
      state: 'open',
      requestedParts: new Set(partNumbers),
      parts: new Map()
    }
    uploads.set(upload.uploadId, upload)
    const urls: Record<string, string> = {}
    for (const n of partNumbers) urls[String(n)] = signedUrl(`/_presigned/${upload.uploadId}/${n}`)
    return { key: upload.key, uploadId: upload.uploadId, urls, bucketKey }
  }

  // Windows are counted from a fixed origin so that X-RateLimit-Reset, rounded
  // up to whole seconds, never promises a reset earlier than the real one.
  function consumeRateLimit(): { headers: OutgoingHttpHeaders; allowed: boolean } {
    if (!rateLimit) return { headers: {}, allowed: true }
    const periodMs = rateLimit.periodSeconds * 1000
    const now = Date.now()
    const index = Math.floor((now - windowStart) / periodMs)
    if (index !== windowIndex) {
      windowIndex = index
      windowCount = 0
    }
    const allowed = windowCount < rateLimit.limit
    if (allowed) windowCount++
    else rateLimited++
    const msLeft = windowStart + (index + 1) * periodMs - now
    return {
      allowed,
      headers: {
        'X-RateLimit-Limit': String(rateLimit.limit),
        'X-RateLimit-Period': String(rateLimit.periodSeconds),
        'X-RateLimit-Remaining': String(rateLimit.limit - windowCount),
        'X-RateLimit-Reset': String(Math.max(1, Math.ceil(msLeft / 1000))),
        'X-RateLimit-Name': rateLimit.name ?? 'synthetics_files'
      }
    }
  }

  function authorize(req: IncomingMessage): Reply | undefined {
    const pair = keyPairs.find(
      p => p.apiKey === req.headers['dd-api-key'] && p.appKey === req.headers['dd-application-key']
    )
    if (!pair) return errorReply(403, 'Forbidden')
    if (!pair.permissions.some(p => WRITE_PERMISSIONS.includes(p))) {
      return errorReply(403, 'Forbidden', 'Failed permission authorization checks')
    }
    return undefined
  }

  // Shared by complete and abort: both name an open upload of this test.
  function findOpenUpload(testId: string, body: Record<string, unknown>): Upload | Reply {
    const key = requireString(body, 'key')
    if (typeof key !== 'string') return key
    const uploadId = requireString(body, 'uploadId')
    if (typeof uploadId !== 'string') return uploadId
    const upload = uploads.get(uploadId)
    if (!upload) return errorReply(404, 'Upload not found')
    if (upload.key !== key) return errorReply(404, 'Upload not found: key does not match uploadId')
    if (upload.testId !== testId) return errorReply(404, `Upload not found for test ${testId}`)
    if (upload.state !== 'open') return errorReply(404, `Upload not found: already ${upload.state}`)
    return upload
  }

  function startFromBody(testId: string, body: Record<string, unknown>): Reply {
    const prefix = body.bucketKeyPrefix
    if (typeof prefix !== 'string' || !BUCKET_PREFIXES.has(prefix)) {
      return errorReply(400, `Field 'bucketKeyPrefix' must be one of: ${[...BUCKET_PREFIXES].join(', ')}`)
    }
    const parts = body.parts
    if (!Array.isArray(parts) || parts.length === 0) {
      return errorReply(400, `Field 'parts' must be a non-empty array`)
    }
    const numbers: number[] = []
    for (const part of parts) {
      if (!isRecord(part) || typeof part.md5 !== 'string') {
        return errorReply(400, `Each of 'parts' needs a string 'md5'`)
      }
      const n = part.partNumber
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_PART_NUMBER) {
        return errorReply(400, `Each of 'parts' needs an integer 'partNumber' from 1 to ${MAX_PART_NUMBER}`)
      }
      if (numbers.includes(n)) return errorReply(400, `Duplicate partNumber ${n}`)
      numbers.push(n)
    }
    const started = createUpload(testId, numbers, prefix)
    return jsonReply(200, {
      bucketKey: started.bucketKey,
      multipart_presigned_urls_params: { key: started.key, upload_id: started.uploadId, urls: started.urls }
    })
  }

  function completeFromBody(testId: string, body: Record<string, unknown>): Reply {
    const open = findOpenUpload(testId, body)
    if ('status' in open) return open
    const parts = body.parts
    if (!Array.isArray(parts) || parts.length === 0) {
      return errorReply(400, `Field 'parts' must be a non-empty array`)
    }
    for (const part of parts) {
      if (!isRecord(part) || typeof part.ETag !== 'string' || typeof part.PartNumber !== 'number') {
        return errorReply(400, `Each of 'parts' needs a string 'ETag' and a number 'PartNumber'`)
      }
      const stored = open.parts.get(part.PartNumber)
      // S3 takes the ETag with or without its surrounding quotes.
      if (!stored || stored.etag !== part.ETag.replaceAll('"', '')) {
        return errorReply(400, `Part ${part.PartNumber} was not uploaded or its ETag does not match`)
      }
    }
    open.state = 'completed'
    downloads.set(open.bucketKey, open)
    return { status: 204 }
  }

  function abortFromBody(testId: string, body: Record<string, unknown>): Reply {
    const open = findOpenUpload(testId, body)
    if ('status' in open) return open
    open.state = 'aborted'
    open.parts.clear()
    return { status: 204 }
  }

  function downloadFromBody(testId: string, body: Record<string, unknown>): Reply {
    const bucketKey = requireString(body, 'bucketKey')
    if (typeof bucketKey !== 'string') return bucketKey
    const upload = downloads.get(bucketKey)
    if (!upload || upload.testId !== testId) return errorReply(404, 'File not found')
    return jsonReply(200, { url: signedUrl(`/_download/${upload.uploadId}`) })
  }

  function apiReply(req: IncomingMessage, testId: string, op: Operation, raw: Buffer): Reply {
    const limit = consumeRateLimit()
    const reply = ((): Reply => {
      if (!limit.allowed) return errorReply(429, 'Too many requests')
      if (req.method !== 'POST') {
        return withHeaders(errorReply(405, 'Method not allowed'), { Allow: 'POST' })
      }
      const denied = authorize(req)
      if (denied) return denied
      if (!tests.has(testId)) return errorReply(404, `Synthetic test ${testId} not found`)
      let body: unknown
      try {
        body = JSON.parse(raw.toString('utf8'))
      } catch {
        return errorReply(400, 'Request body is not valid JSON')
      }
      if (!isRecord(body)) return errorReply(400, 'Request body must be a JSON object')
      switch (op) {
        case 'multipart-presigned-urls':
          return startFromBody(testId, body)
        case 'multipart-upload-complete':
          return completeFromBody(testId, body)
        case 'multipart-upload-abort':
          return abortFromBody(testId, body)
        case 'download':
          return downloadFromBody(testId, body)
      }
    })()
    return withHeaders(reply, limit.headers)
  }

  function storageReply(req: IncomingMessage, url: URL, raw: Buffer): Reply | undefined {
    const put = PRESIGNED_PUT_PATH.exec(url.pathname)
    const get = DOWNLOAD_PATH.exec(url.pathname)
    if (!put && !get) return undefined
    if (url.searchParams.get('X-Signature') !== sign(url.pathname)) {
      return {
        status: 403,
        headers: { 'Content-Type': 'application/xml' },
        body: '<Error><Code>SignatureDoesNotMatch</Code></Error>'
      }
    }
    const noSuchUpload: Reply = {
      status: 404,
      headers: { 'Content-Type': 'application/xml' },
      body: '<Error><Code>NoSuchUpload</Code></Error>'
    }
    if (put) {
      if (req.method !== 'PUT') return { status: 405, headers: { Allow: 'PUT' } }
      const upload = uploads.get(put[1] ?? '')
      if (!upload || upload.state !== 'open') return noSuchUpload
      const etag = md5Hex(raw)
      upload.parts.set(Number(put[2]), { bytes: raw, etag })
      return { status: 200, headers: { ETag: `"${etag}"` } }
    }
    if (req.method !== 'GET') return { status: 405, headers: { Allow: 'GET' } }
    const upload = uploads.get(get?.[1] ?? '')
    if (!upload || upload.state !== 'completed') return noSuchUpload
    const ordered = [...upload.parts.entries()].sort(([a], [b]) => a - b).map(([, p]) => p.bytes)
    return { status: 200, headers: { 'Content-Type': 'application/json' }, body: Buffer.concat(ordered) }
  }

  function adminReply(req: IncomingMessage, url: URL): Reply | undefined {
    const uploadMatch = ADMIN_UPLOAD_PATH.exec(url.pathname)
    if (!uploadMatch && url.pathname !== '/_emulator/stats') return undefined
    if (req.method !== 'GET') return withHeaders(errorReply(405, 'Method not allowed'), { Allow: 'GET' })
    if (!uploadMatch) return jsonReply(200, emulator.stats())
    const id = decodeSegment(uploadMatch[1] ?? '') ?? ''
    const state = emulator.uploadState(id)
    if (!state) return errorReply(404, 'Upload not found')
    return jsonReply(200, { state, storedBytes: emulator.storedBytes(id) })
  }

  function partialErrorBody(status: number): { full: Buffer; part: Buffer } {
    const full = Buffer.from(JSON.stringify({ errors: [reasonOf(status)] }))
    return { full, part: full.subarray(0, Math.floor(full.length / 2)) }
  }

  async function streamHugeBody(res: ServerResponse, total: number): Promise<void> {
    let closed = false
    res.once('close', () => {
      closed = true
    })
    const head = '{"errors":["'
    const tail = '"]}'
    // Too small to hold the JSON frame: plain filler, which is "or not".
    const framed = total >= head.length + tail.length
    let remaining = framed ? total - head.length - tail.length : total
    if (framed) res.write(head)
    while (remaining > 0 && !closed) {
      const n = Math.min(CHUNK_BYTES, remaining)
      remaining -= n
      if (!res.write(FILLER.subarray(0, n))) {
        await new Promise<void>(resolve => {
          const done = (): void => {
            res.off('drain', done)
            res.off('close', done)
            resolve()
          }
          res.on('drain', done)
          res.on('close', done)
        })
      }
    }
    if (!closed) res.end(framed ? tail : undefined)
  }

  async function applyFault(
    fault: Fault,
    req: IncomingMessage,
    res: ServerResponse,
    realAnswer: () => Reply
  ): Promise<void> {
    switch (fault.kind) {
      case 'status': {
        const body = fault.body ?? JSON.stringify({ errors: [reasonOf(fault.status)] })
        send(res, { status: fault.status, headers: { 'Content-Type': 'application/json', ...fault.headers }, body })
        return
      }
      case 'abort-then-status': {
        realAnswer()
        const body = fault.body ?? JSON.stringify({ errors: [reasonOf(fault.status)] })
        send(res, { status: fault.status, headers: { 'Content-Type': 'application/json' }, body })
        return
      }
      case 'abort-then-reset':
        realAnswer()
        req.socket.destroy()
        return
      case 'reset':
        req.socket.destroy()
        return
      case 'stall-before-headers':
        return
      case 'stall-mid-body':
      case 'reset-mid-body':
      case 'truncated': {
        const status = fault.status ?? 500
        const { full, part } = partialErrorBody(status)
        res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': full.length })
        res.write(part)
        // The pause lets the client take the headers before the socket goes,
        // so the failure lands while reading the body, not while connecting.
        if (fault.kind === 'reset-mid-body') later(50, () => req.socket.destroy())
        if (fault.kind === 'truncated') later(50, () => req.socket.end())
        return
      }
      case 'trickle': {
        const status = fault.status ?? 503
        const text = JSON.stringify({ errors: [reasonOf(status)] }).slice(0, -3)
        res.writeHead(status, { 'Content-Type': 'application/json' })
        // Node holds headers back until the first body write; a trickle
        // server shows its status line at once.
        res.flushHeaders()
        let sent = 0
        const timer = every(fault.intervalMs ?? 200, () => {
          res.write(sent < text.length ? text.charAt(sent) : '.')
          sent++
        })
        res.once('close', () => cancel(timer))
        return
      }
      case 'huge-body': {
        const total = fault.bytes ?? Number.POSITIVE_INFINITY
        const headers: OutgoingHttpHeaders = { 'Content-Type': 'application/json' }
        if (Number.isFinite(total)) headers['Content-Length'] = total
        res.writeHead(fault.status ?? 500, headers)
        await streamHugeBody(res, total)
        return
      }
      case 'redirect':
        send(res, { status: fault.status ?? 302, headers: { Location: fault.location } })
        return
      case 'html': {
        const title = `${fault.status} ${reasonOf(fault.status)}`
        const body = `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`
        send(res, { status: fault.status, headers: { 'Content-Type': 'text/html' }, body })
        return
      }
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const receivedAt = Date.now()
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const record: RecordedRequest = {
      method: req.method ?? '',
      path: req.url ?? '/',
      headers: { ...req.headers },
      body: '',
      receivedAt
    }
    requests.push(record)
    const api = API_PATH.exec(url.pathname)
    const op = api?.[2] as Operation | undefined
    const isAbort = op === 'multipart-upload-abort' && req.method === 'POST'
    // Taken on arrival so that concurrent aborts get faults in arrival order.
    const fault = isAbort ? faults.shift() : undefined
    if (isAbort) {
      abortsInFlight++
      maxConcurrent = Math.max(maxConcurrent, abortsInFlight)
      res.once('close', () => abortsInFlight--)
    }
    res.once('close', () =>
      options.onResponse?.({
        method: record.method,
        path: url.pathname,
        status: res.headersSent ? res.statusCode : undefined,
        fault: fault?.kind,
        ms: Date.now() - receivedAt
      })
    )

    const raw = await readBody(req)
    if (!raw) {
      send(res, withHeaders(errorReply(413, 'Request body larger than 1 MiB'), { Connection: 'close' }))
      return
    }
    record.body = raw.toString('utf8')

    if (api && op) {
      await sleep(latencyMs)
      const testId = decodeSegment(api[1] ?? '')
      if (testId === undefined) {
        send(res, errorReply(404, 'Not found'))
        return
      }
      const realAnswer = (): Reply => apiReply(req, testId, op, raw)
      if (fault) await applyFault(fault, req, res, realAnswer)
      else send(res, realAnswer())
      return
    }
    send(res, storageReply(req, url, raw) ?? adminReply(req, url) ?? errorReply(404, 'Not found'))
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (res.headersSent) req.socket.destroy()
      else send(res, errorReply(500, 'Internal emulator error'))
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  baseUrl = `http://127.0.0.1:${port}`

  const isAbortRequest = (r: RecordedRequest): boolean =>
    r.method === 'POST' && API_PATH.exec(r.path.split('?')[0] ?? '')?.[2] === 'multipart-upload-abort'

  const emulator: Emulator = {
    url: baseUrl,
    port,
    requests,
    abortRequests: () => requests.filter(isAbortRequest),
    startUpload(testId, parts = 1, prefix = 'api-upload-file') {
      if (!tests.has(testId)) throw new Error(`Unknown test ${testId}; known: ${[...tests].join(', ')}`)
      return createUpload(
        testId,
        Array.from({ length: parts }, (_, i) => i + 1),
        prefix
      )
    },
    uploadState: uploadId => uploads.get(uploadId)?.state,
    storedBytes(uploadId) {
      let total = 0
      for (const part of uploads.get(uploadId)?.parts.values() ?? []) total += part.bytes.length
      return total
    },
    openUploads: () => [...uploads.values()].filter(u => u.state === 'open').length,
    setFaults(next) {
      faults = [...next]
    },
    setRateLimit(next) {
      rateLimit = next
      windowStart = Date.now()
      windowIndex = 0
      windowCount = 0
    },
    setLatency(ms) {
      latencyMs = ms
    },
    stats: () => ({
      requests: requests.length,
      aborts: requests.filter(isAbortRequest).length,
      rateLimited,
      maxConcurrent
    }),
    close() {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      const closed = new Promise<void>(resolve => server.close(() => resolve()))
      server.closeAllConnections()
      return closed
    }
  }
  return emulator
}
