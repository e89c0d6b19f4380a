// Standalone emulator for demos and CI jobs that run the action in another
// process: stdout gets exactly one JSON line to parse, everything else goes
// to stderr so it never mixes with that line.
import { parseArgs } from 'node:util'
import {
  DEFAULT_KEYS,
  DEFAULT_TOKEN,
  startEmulator,
  STORAGE_KINDS,
  type EmulatorOptions,
  type StorageKind
} from './server.ts'

const USAGE =
  'usage: node emulator/cli.ts [--port N] [--latency MS] [--rate-limit LIMIT/PERIOD_SECONDS] [--storage s3|azure] [--start-upload TEST_ID]'

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`)
  process.exit(2)
}

function wholeNumber(name: string, text: string, min: number): number {
  const value = Number(text)
  if (!/^\d+$/.test(text) || value < min) fail(`--${name} must be a whole number >= ${min}, got '${text}'`)
  return value
}

const optionalWholeNumber = (name: string, text: string | undefined, min: number): number | undefined =>
  text === undefined ? undefined : wholeNumber(name, text, min)

function rateLimitOf(text: string | undefined): EmulatorOptions['rateLimit'] {
  if (text === undefined) return undefined
  const [limit, period, extra] = text.split('/')
  if (extra !== undefined) fail(`--rate-limit must look like LIMIT/PERIOD_SECONDS, got '${text}'`)
  return {
    limit: wholeNumber('rate-limit LIMIT', limit ?? '', 0),
    periodSeconds: wholeNumber('rate-limit PERIOD_SECONDS', period ?? '', 1)
  }
}

function storageOf(text: string | undefined): StorageKind | undefined {
  if (text === undefined) return undefined
  const kind = STORAGE_KINDS.find(k => k === text)
  return kind ?? fail(`--storage must be one of ${STORAGE_KINDS.join(', ')}, got '${text}'`)
}

let parsed
try {
  parsed = parseArgs({
    options: {
      port: { type: 'string' },
      latency: { type: 'string' },
      'rate-limit': { type: 'string' },
      storage: { type: 'string' },
      'start-upload': { type: 'string' },
      help: { type: 'boolean' }
    },
    strict: true
  }).values
} catch (error) {
  fail((error as Error).message)
}
if (parsed.help) {
  process.stdout.write(`${USAGE}\n`)
  process.exit(0)
}

const emulator = await startEmulator({
  port: optionalWholeNumber('port', parsed.port, 0),
  latencyMs: optionalWholeNumber('latency', parsed.latency, 0),
  rateLimit: rateLimitOf(parsed['rate-limit']),
  storage: storageOf(parsed.storage),
  onResponse: ({ method, path, status, fault, ms }) => {
    const outcome = status === undefined ? 'no-answer' : String(status)
    process.stderr.write(`${method} ${path} ${outcome}${fault ? ` [fault ${fault}]` : ''} ${ms}ms\n`)
  }
})

let upload: { key: string; uploadId: string } | undefined
if (parsed['start-upload'] !== undefined) {
  try {
    const started = emulator.startUpload(parsed['start-upload'])
    upload = { key: started.key, uploadId: started.uploadId }
  } catch (error) {
    await emulator.close()
    fail((error as Error).message)
  }
}

process.stdout.write(
  `${JSON.stringify({
    url: emulator.url,
    apiKey: DEFAULT_KEYS.apiKey,
    appKey: DEFAULT_KEYS.appKey,
    accessToken: DEFAULT_TOKEN.token,
    upload
  })}\n`
)

let stopping = false
const stop = (): void => {
  if (stopping) return
  stopping = true
  void emulator.close().then(() => process.stderr.write('emulator stopped\n'))
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
