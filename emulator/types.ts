// What callers of the emulator see: its options, its handle and the default
// credentials. Re-exported by server.ts, where callers import them from.

export interface KeyPair {
  apiKey: string
  appKey: string
  permissions: string[]
}

/** A personal or service access token, sent as `Authorization: Bearer`. */
export interface AccessToken {
  token: string
  /** What it may do: an operation needs its scope here (synthetics_write to abort). */
  scopes: string[]
  /** Epoch milliseconds from which Datadog refuses it with 401; none: it does not expire. */
  expiresAt?: number
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

// Where presigned URLs lead: S3 (and R2) answer a part with 200 and an ETag;
// Azure Blob Storage, behind some Datadog sites (US3), answers 201 without one.
export const STORAGE_KINDS = ['s3', 'azure'] as const
export type StorageKind = (typeof STORAGE_KINDS)[number]

export interface EmulatorOptions {
  keyPairs?: KeyPair[]
  /** The storage of the uploads started from now on; 's3' unless told. */
  storage?: StorageKind
  accessTokens?: AccessToken[]
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
  // A role that may write tests may read them too, as Datadog's standard role can.
  permissions: ['synthetics_read', 'synthetics_write']
}

export const DEFAULT_TOKEN: AccessToken = {
  // A service access token (no expiry needed), unrelated to the keys: any
  // piece of it is told apart from a piece of them.
  token: 'ddsat_Hq3vT8mZ1kW6pR2xN9cJ4bY7fL0sDg5Ue',
  scopes: ['synthetics_read', 'synthetics_write']
}

export interface RecordedRequest {
  method: string
  path: string
  headers: Record<string, string | string[] | undefined>
  body: string
  receivedAt: number
}

export type BucketKeyPrefix = 'api-upload-file' | 'browser-upload-file-step'

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
  startUpload(testId: string, parts?: number, prefix?: BucketKeyPrefix): StartedUpload
  uploadState(uploadId: string): UploadState | undefined
  storedBytes(uploadId: string): number
  openUploads(): number
  setFaults(faults: Fault[]): void
  setRateLimit(rl: RateLimit | undefined): void
  setLatency(ms: number): void
  setStorage(kind: StorageKind): void
  stats(): EmulatorStats
  close(): Promise<void>
}
