// A local stand-in for Datadog's synthetics test-file multipart API, faithful
// enough that the action, its tests, the demo and the benchmark can exercise
// every answer the real service (or a proxy in front of it) can give.
// This file runs the HTTP server and records what it receives; router.ts
// decides the answers, presigned.ts answers parts as S3 or Azure would,
// storage.ts keeps the uploads, ratelimit.ts counts calls and faults.ts
// misbehaves on request.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { FaultInjector } from './faults.ts'
import { RateLimiter } from './ratelimit.ts'
import { errorReply, send, withHeaders } from './reply.ts'
import { API_PATH, decodeSegment, Router, type Operation } from './router.ts'
import { UploadStore } from './storage.ts'
import { Timers } from './timers.ts'
import {
  DEFAULT_KEYS,
  DEFAULT_TOKEN,
  STORAGE_KINDS,
  type Emulator,
  type EmulatorOptions,
  type RecordedRequest
} from './types.ts'

export { DEFAULT_KEYS, DEFAULT_TOKEN, STORAGE_KINDS }
export type {
  AccessToken,
  BucketKeyPrefix,
  Emulator,
  EmulatorOptions,
  EmulatorStats,
  Fault,
  KeyPair,
  RateLimit,
  RecordedRequest,
  ResponseLog,
  StartedUpload,
  StorageKind,
  UploadState
} from './types.ts'

const MiB = 1024 * 1024
const MAX_API_BODY_MIB = 1
// Storage takes parts of up to 5 GiB; the emulator keeps them in memory, so
// it takes the 10 MiB parts Datadog's uploaders send, with room to spare.
const MAX_PART_MIB = 16

// Bodies over the cap are still drained so the client gets to read the 413
// instead of a broken pipe while it is still sending.
async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size <= maxBytes) chunks.push(chunk)
  }
  return size > maxBytes ? undefined : Buffer.concat(chunks)
}

const isAbortRequest = (r: RecordedRequest): boolean =>
  r.method === 'POST' && API_PATH.exec(r.path.split('?')[0] ?? '')?.[2] === 'multipart-upload-abort'

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const tests = new Set(options.tests ?? ['abc-def-123', 'xyz-uvw-789'])
  const requests: RecordedRequest[] = []
  const timers = new Timers()
  const store = new UploadStore()
  const limiter = new RateLimiter(options.rateLimit)
  const faults = new FaultInjector(timers, options.faults)
  let latencyMs = options.latencyMs ?? 0
  let abortsInFlight = 0
  let maxConcurrent = 0

  const stats = (): ReturnType<Emulator['stats']> => ({
    requests: requests.length,
    aborts: requests.filter(isAbortRequest).length,
    rateLimited: limiter.refused,
    maxConcurrent
  })
  const router = new Router({
    store,
    limiter,
    keyPairs: options.keyPairs ?? [DEFAULT_KEYS],
    accessTokens: options.accessTokens ?? [DEFAULT_TOKEN],
    tests,
    stats,
    storage: options.storage ?? 's3'
  })

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
    const fault = isAbort ? faults.take() : undefined
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

    const maxMiB = api ? MAX_API_BODY_MIB : MAX_PART_MIB
    const raw = await readBody(req, maxMiB * MiB)
    if (!raw) {
      send(res, withHeaders(errorReply(413, `Request body larger than ${maxMiB} MiB`), { Connection: 'close' }))
      return
    }
    record.body = raw.toString('utf8')

    if (!api || !op) {
      send(res, router.other(req, url, raw))
      return
    }
    await timers.sleep(latencyMs)
    const testId = decodeSegment(api[1] ?? '')
    if (testId === undefined) {
      send(res, errorReply(404, 'Not found'))
      return
    }
    const realAnswer = () => router.api(req, testId, op, raw)
    if (fault) await faults.apply(fault, req, res, realAnswer)
    else send(res, realAnswer())
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
  router.baseUrl = `http://127.0.0.1:${port}`

  return {
    url: router.baseUrl,
    port,
    requests,
    abortRequests: () => requests.filter(isAbortRequest),
    startUpload(testId, parts = 1, prefix = 'api-upload-file') {
      if (!tests.has(testId)) throw new Error(`Unknown test ${testId}; known: ${[...tests].join(', ')}`)
      return router.startUpload(
        testId,
        Array.from({ length: parts }, (_, i) => i + 1),
        prefix
      )
    },
    uploadState: uploadId => store.state(uploadId),
    storedBytes: uploadId => store.storedBytes(uploadId),
    openUploads: () => store.openCount(),
    setFaults: next => faults.set(next),
    setRateLimit: next => limiter.set(next),
    setLatency(ms) {
      latencyMs = ms
    },
    setStorage(kind) {
      router.storageKind = kind
    },
    stats,
    close() {
      timers.clear()
      const closed = new Promise<void>(resolve => server.close(() => resolve()))
      server.closeAllConnections()
      return closed
    }
  }
}
