/** Input values as the runner passes them: every one a string, '' when not given. */
export type RawInputs = Readonly<Record<string, string>>
export type Env = Readonly<Record<string, string | undefined>>

export interface Upload {
  readonly testId: string
  readonly key: string
  readonly uploadId: string
  /** The manifest entry it came from (`uploads[3]`), for hints; none for the single upload. */
  readonly entry?: string
}

/**
 * How the requests prove who sends them: Datadog's key pair, or one access
 * token (a personal or service access token) sent as a bearer token.
 */
export type Credentials =
  | { readonly kind: 'keys'; readonly apiKey: string; readonly appKey: string }
  | { readonly kind: 'token'; readonly token: string }

/** Where and how to call Datadog: what the action and the guard share. */
export interface Connection {
  readonly credentials: Credentials
  /** Scheme, host and optional path prefix, no trailing slash. */
  readonly baseUrl: string
  /** How the destination is named in logs: `datadoghq.eu (EU1)` or the api-url host. */
  readonly siteLabel: string
  readonly maxRetries: number
  readonly timeoutMs: number
  readonly concurrency: number
}

export interface Settings extends Connection {
  readonly uploads: readonly Upload[]
  /**
   * True when the uploads came from `uploads` / `uploads-file`: the one
   * place that decides between one upload and many.
   */
  readonly batch: boolean
  readonly ignoreNotFound: boolean
  readonly dryRun: boolean
}

// Where and how to call Datadog, and how long to try: inputs of both actions.
const CONNECTION_INPUTS = ['api-key', 'app-key', 'access-token', 'site', 'datadog-site', 'api-url'] as const
const LIMIT_INPUTS = ['max-retries', 'timeout', 'concurrency'] as const

/** Every input of action.yml (a test keeps the two lists equal). */
export const INPUT_NAMES = [
  ...CONNECTION_INPUTS,
  'test-id',
  'key',
  'upload-id',
  'uploads',
  'uploads-file',
  'ignore-not-found',
  ...LIMIT_INPUTS,
  'dry-run'
] as const

/** Every input of guard/action.yml: the connection inputs of the action. */
export const GUARD_INPUT_NAMES = [...CONNECTION_INPUTS, ...LIMIT_INPUTS] as const

export const LIMITS = {
  keyChars: 1024,
  uploadIdChars: 1024,
  // Datadog's keys are 32 and 40; a shorter one is a wiring mistake, and a
  // key of a few characters could not be told apart in an echoed answer.
  secretMinChars: 16,
  secretChars: 256,
  // Datadog documents no length for its access tokens; this bound only keeps
  // a pasted file or log out of a request header.
  tokenChars: 4096,
  uploads: 10_000,
  uploadsFileBytes: 16 * 1024 * 1024,
  maxRetries: 20,
  timeoutSeconds: 3600,
  concurrency: 32
} as const
