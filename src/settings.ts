/** Input values as the runner passes them: every one a string, '' when not given. */
export type RawInputs = Readonly<Record<string, string>>
export type Env = Readonly<Record<string, string | undefined>>

export interface Upload {
  readonly testId: string
  readonly key: string
  readonly uploadId: string
}

export interface Settings {
  readonly apiKey: string
  readonly appKey: string
  /** Scheme, host and optional path prefix, no trailing slash. */
  readonly baseUrl: string
  /** How the destination is named in logs: `datadoghq.eu (EU1)` or the api-url host. */
  readonly siteLabel: string
  readonly uploads: readonly Upload[]
  /**
   * True when the uploads came from `uploads` / `uploads-file`: the one
   * place that decides between one upload and many.
   */
  readonly batch: boolean
  readonly ignoreNotFound: boolean
  readonly maxRetries: number
  readonly timeoutMs: number
  readonly concurrency: number
  readonly dryRun: boolean
}

/** Every input of action.yml (a test keeps the two lists equal). */
export const INPUT_NAMES = [
  'api-key',
  'app-key',
  'site',
  'datadog-site',
  'api-url',
  'test-id',
  'key',
  'upload-id',
  'uploads',
  'uploads-file',
  'ignore-not-found',
  'max-retries',
  'timeout',
  'concurrency',
  'dry-run'
] as const

export const LIMITS = {
  keyChars: 1024,
  uploadIdChars: 1024,
  testIdChars: 64,
  // Datadog's keys are 32 and 40; a shorter one is a wiring mistake, and a
  // key of a few characters could not be told apart in an echoed answer.
  secretMinChars: 16,
  secretChars: 256,
  uploads: 10_000,
  uploadsFileBytes: 16 * 1024 * 1024,
  maxRetries: 20,
  timeoutSeconds: 3600,
  concurrency: 32
} as const
