// Runs a bundle of the action the way a GitHub runner does: Node 24, INPUT_*
// variables with the defaults of action.yml (or guard/action.yml) applied,
// GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_ENV and GITHUB_STATE, and the
// STATE_* variables a post step gets. Shared by the end-to-end tests, the demo and the benchmark.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { DEFAULT_KEYS, DEFAULT_TOKEN } from '../../emulator/server.ts'

export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..')
/** What users run: the demo runs this one (the benchmark builds src/ and takes the last release from git). */
export const COMMITTED_BUNDLE = join(ROOT, 'dist', 'index.js')
/** Set by the e2e project's globalSetup (build-bundle.js) to a bundle built from the current src/. */
export const BUNDLE_VARIABLE = 'ABORT_ACTION_TEST_BUNDLE'

/**
 * The bundle the end-to-end tests run. There is deliberately no fallback to
 * dist/: after an edit of src/ that would quietly test the previous build.
 */
export function testedBundle(): string {
  const bundle = process.env[BUNDLE_VARIABLE]
  if (!bundle) {
    throw new Error(
      `${BUNDLE_VARIABLE} is not set: run the end-to-end tests through jest (npm run test:e2e), whose globalSetup builds src/, or pass runAction a bundle.`
    )
  }
  return bundle
}
/** The Node 24 binary from the `node` dev dependency: the runtime of `runs.using: node24`. */
export const NODE24 = join(ROOT, 'node_modules', 'node', 'bin', 'node')

/** The guard's bundle, built beside the action's (dist/guard/index.js in a release). */
export function testedGuardBundle(): string {
  return join(dirname(testedBundle()), 'guard', 'index.js')
}

interface ActionYaml {
  inputs: Record<string, { default?: string | number | boolean }>
  outputs: Record<string, unknown>
}

export const ACTION = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as ActionYaml
export const GUARD_ACTION = parse(readFileSync(join(ROOT, 'guard', 'action.yml'), 'utf8')) as ActionYaml

export interface RunOptions {
  /** The script to run; the fresh build of the end-to-end tests when left out. */
  readonly bundle?: string
  /** Inputs by their action.yml names; the runner's defaults fill the rest. */
  readonly inputs: Record<string, string>
  /** The metadata whose inputs and defaults apply: action.yml unless told. */
  readonly action?: ActionYaml
  /** What an earlier step of this action saved with saveState: a post step's STATE_* variables. */
  readonly state?: Record<string, string>
  /** Extra environment (DD_SITE, https_proxy...). */
  readonly env?: Record<string, string>
  /** Send this signal to the process once `when()` holds (polled), or after `afterMs`. */
  readonly signal?: {
    readonly name: NodeJS.Signals
    readonly afterMs?: number
    readonly when?: () => boolean
    /** A second signal this long after the first, as a runner that escalates sends. */
    readonly then?: { readonly name: NodeJS.Signals; readonly afterMs: number }
  }
  /** Kill the process if it runs longer than this (a hang is a test failure, not a stuck suite). */
  readonly killAfterMs?: number
  /** Leave GITHUB_OUTPUT / GITHUB_STEP_SUMMARY unset, as on a developer's machine. */
  readonly bareEnvironment?: boolean
}

export interface RunResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly outputs: Record<string, string>
  /** What the step exported (GITHUB_ENV): the environment of the steps after it. */
  readonly exported: Record<string, string>
  /** What the step saved (GITHUB_STATE) for its post step. */
  readonly state: Record<string, string>
  readonly summary: string
  readonly durationMs: number
  /** From the first line the action printed to its exit: the run without Node's start-up. */
  readonly runMs: number
  /** From the signal (when one was sent) to the exit. */
  readonly afterSignalMs: number | undefined
  /** Workflow-command lines (`::name ...::`) as printed. */
  readonly commands: string[]
  readonly killed: boolean
}

/** The environment a runner gives `node dist/index.js` for these inputs. */
export function runnerEnv(
  inputs: Record<string, string>,
  files: { output?: string; summary?: string; env?: string; state?: string },
  action: ActionYaml = ACTION
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? tmpdir(),
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    RUNNER_TEMP: tmpdir()
  }
  if (files.output) env.GITHUB_OUTPUT = files.output
  if (files.summary) env.GITHUB_STEP_SUMMARY = files.summary
  if (files.env) env.GITHUB_ENV = files.env
  if (files.state) env.GITHUB_STATE = files.state
  for (const [name, spec] of Object.entries(action.inputs)) {
    if (spec.default !== undefined) env[inputVariable(name)] = String(spec.default)
  }
  for (const [name, value] of Object.entries(inputs)) {
    if (!(name in action.inputs)) throw new Error(`test passes unknown input ${name}`)
    env[inputVariable(name)] = value
  }
  return env
}

export function inputVariable(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`
}

/** Runs a bundle under Node 24 exactly as a runner starts it. */
export async function runAction(options: RunOptions): Promise<RunResult> {
  const bundle = options.bundle ?? testedBundle()
  const dir = mkdtempSync(join(tmpdir(), 'abort-e2e-'))
  const output = join(dir, 'output')
  const summary = join(dir, 'summary')
  const envFile = join(dir, 'env')
  const stateFile = join(dir, 'state')
  const files = options.bareEnvironment ? {} : { output, summary, env: envFile, state: stateFile }
  if (!options.bareEnvironment) for (const file of [output, summary, envFile, stateFile]) writeFileSync(file, '')
  const state = Object.fromEntries(Object.entries(options.state ?? {}).map(([name, value]) => [`STATE_${name}`, value]))
  const env = { ...runnerEnv(options.inputs, files, options.action), ...state, ...(options.env ?? {}) }
  const started = Date.now()
  const child = spawn(NODE24, [bundle], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  let firstOutput: number | undefined
  let signalled: number | undefined
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    firstOutput ??= Date.now()
    stdout += d
  })
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const timers: NodeJS.Timeout[] = []
  if (options.signal) {
    const { name, afterMs, when, then } = options.signal
    const send = (): void => {
      signalled = Date.now()
      child.kill(name)
      if (then) timers.push(setTimeout(() => child.kill(then.name), then.afterMs))
    }
    if (when) {
      const poll = setInterval(() => {
        if (!when()) return
        clearInterval(poll)
        send()
      }, 5)
      timers.push(poll)
    } else {
      timers.push(setTimeout(send, afterMs ?? 0))
    }
  }
  let killed = false
  timers.push(
    setTimeout(() => {
      killed = true
      child.kill('SIGKILL')
    }, options.killAfterMs ?? 20_000)
  )
  const code = await new Promise<number | null>(done => child.on('close', c => done(c)))
  const ended = Date.now()
  const durationMs = ended - started
  for (const t of timers) clearTimeout(t)
  const result: RunResult = {
    code,
    stdout,
    stderr,
    outputs: options.bareEnvironment ? setOutputCommands(stdout) : parseOutputFile(readFileSync(output, 'utf8')),
    exported: options.bareEnvironment ? {} : parseOutputFile(readFileSync(envFile, 'utf8')),
    state: options.bareEnvironment ? {} : parseOutputFile(readFileSync(stateFile, 'utf8')),
    summary: options.bareEnvironment ? '' : readFileSync(summary, 'utf8'),
    durationMs,
    runMs: ended - (firstOutput ?? started),
    afterSignalMs: signalled === undefined ? undefined : ended - signalled,
    commands: stdout.split('\n').filter(line => line.startsWith('::')),
    killed
  }
  rmSync(dir, { recursive: true, force: true })
  return result
}

/** Reads `name<<DELIM\nvalue\nDELIM` records, as the runner does (outputs, env, state). */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const match = /^([^<=]+)<<(.+)$/.exec(lines[i] ?? '')
    if (!match) continue
    const [, name, delimiter] = match as unknown as [string, string, string]
    const value: string[] = []
    for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i] ?? '')
    outputs[name] = value.join('\n')
  }
  return outputs
}

function setOutputCommands(stdout: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  for (const match of stdout.matchAll(/^::set-output name=([^:]+)::(.*)$/gm)) outputs[match[1] ?? ''] = match[2] ?? ''
  return outputs
}

/** Every place a key could leak to, except the ::add-mask:: lines that register it. */
export function leakedSecrets(result: RunResult, secrets: readonly string[]): string[] {
  const stdout = result.stdout
    .split('\n')
    .filter(line => !line.startsWith('::add-mask::'))
    .join('\n')
  const places = {
    stdout,
    stderr: result.stderr,
    outputs: JSON.stringify(result.outputs),
    summary: result.summary,
    env: JSON.stringify(result.exported),
    state: JSON.stringify(result.state)
  }
  const leaks: string[] = []
  for (const secret of secrets) {
    // Any 12-character piece counts: a key cut in two is not masked by the runner.
    const pieces = Array.from({ length: Math.max(1, secret.length - 11) }, (_, i) => secret.slice(i, i + 12))
    for (const [where, text] of Object.entries(places)) {
      if (pieces.some(piece => text.includes(piece))) leaks.push(`${where} contains a key or a piece of one`)
    }
  }
  return leaks
}

/** Error annotations as the runner would show them (message unescaped). */
export function annotations(result: RunResult, kind: 'error' | 'warning' | 'notice'): string[] {
  return result.commands
    .filter(line => line.startsWith(`::${kind}`))
    .map(line =>
      line
        .replace(/^::[^:]*::/, '')
        .replace(/%0A/g, '\n')
        .replace(/%0D/g, '\r')
        .replace(/%25/g, '%')
    )
}

/**
 * The inputs that point the action at an emulator with its default keys:
 * one upload (`key`, `upload-id`), or anything else given in `extra`.
 */
export function emulatorInputs(
  apiUrl: string,
  upload?: { key: string; uploadId: string },
  extra: Record<string, string> = {}
): Record<string, string> {
  return {
    'api-key': DEFAULT_KEYS.apiKey,
    'app-key': DEFAULT_KEYS.appKey,
    'api-url': apiUrl,
    'test-id': 'abc-def-123',
    ...(upload ? { key: upload.key, 'upload-id': upload.uploadId } : {}),
    ...extra
  }
}

/** The credential inputs that use an access token instead of the keys: spread them over the inputs. */
export function tokenInputs(token = DEFAULT_TOKEN.token): Record<string, string> {
  return { 'api-key': '', 'app-key': '', 'access-token': token }
}
