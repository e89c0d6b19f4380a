// A job with the guard, run as a runner runs it: the guard's main step, the
// job's own `run:` steps with the environment the main step exported, then
// the post step with the main step's state and the same inputs. Shared by
// the end-to-end tests and the demo.
import { spawn } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { DEFAULT_KEYS } from '../../emulator/server.ts'
import { GUARD_ACTION, ROOT, runAction, testedGuardBundle, type RunOptions, type RunResult } from './runner.ts'

/** The upload script the README links to and the guard ships. */
export const UPLOAD_SCRIPT = join(ROOT, 'examples', 'upload-test-file.sh')

export interface GuardStep {
  readonly inputs: Record<string, string>
  /** RUNNER_TEMP: where the manifest goes. */
  readonly runnerTemp: string
  /** The guard's bundle; the fresh build of the end-to-end tests when left out. */
  readonly bundle?: string
}

/** The guard's inputs pointing at an emulator with its default keys. */
export function guardInputs(apiUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return { 'api-key': DEFAULT_KEYS.apiKey, 'app-key': DEFAULT_KEYS.appKey, 'api-url': apiUrl, ...extra }
}

export function guardMain(step: GuardStep): Promise<RunResult> {
  return runAction({
    bundle: step.bundle ?? testedGuardBundle(),
    action: GUARD_ACTION,
    inputs: step.inputs,
    env: { RUNNER_TEMP: step.runnerTemp }
  })
}

/** The post step: same inputs, the main step's state as STATE_*, and what it exported. */
export function guardPost(
  step: GuardStep,
  main: RunResult,
  options: Pick<RunOptions, 'signal' | 'killAfterMs' | 'env'> = {}
): Promise<RunResult> {
  return runAction({
    ...options,
    bundle: step.bundle ?? testedGuardBundle(),
    action: GUARD_ACTION,
    inputs: step.inputs,
    state: main.state,
    env: { RUNNER_TEMP: step.runnerTemp, ...main.exported, ...options.env }
  })
}

export interface ScriptRun {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stderr: string
}

export interface ScriptOptions {
  /** Environment besides PATH and HOME: what the main step exported, the keys, DD_API_URL. */
  readonly env: Record<string, string>
  readonly cwd: string
  /** Polled with the stderr so far; once true, the script's process group gets SIGKILL. */
  readonly killWhen?: (stderr: string) => boolean
}

/** A `run:` step: bash with the script, killed with its children as the runner kills a step. */
export function runStep(script: string, args: readonly string[], options: ScriptOptions): Promise<ScriptRun> {
  const stderrPath = join(options.cwd, `stderr-${process.pid}-${Date.now()}`)
  const fd = openSync(stderrPath, 'w')
  const child = spawn('bash', ['-c', script, 'step', ...args], {
    cwd: options.cwd,
    detached: true,
    stdio: ['ignore', 'ignore', fd],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? options.cwd, ...options.env }
  })
  closeSync(fd)
  const { killWhen } = options
  const poll =
    killWhen &&
    setInterval(() => {
      if (child.pid === undefined || !killWhen(readFileSync(stderrPath, 'utf8'))) return
      clearInterval(poll)
      process.kill(-child.pid, 'SIGKILL')
    }, 5)
  return new Promise(resolve => {
    child.on('exit', (code, signal) => {
      if (poll) clearInterval(poll)
      resolve({ code, signal, stderr: readFileSync(stderrPath, 'utf8') })
    })
  })
}

/**
 * The job's upload step of the end-to-end proof and the demo: one whole
 * upload through the example script (answer and completion mark), two
 * answers appended straight from curl with no newline between them, then a
 * fourth answer written in two halves; the caller kills it in between, on
 * "half written" in stderr.
 */
export const KILLED_UPLOAD_STEP = `
set -euo pipefail
printf 'a test file' > file.bin
"$DD_SYNTHETICS_UPLOAD_SCRIPT" abc-def-123 file.bin
start() {
  curl -sS -X POST -H @<(printf 'DD-API-KEY: %s\\nDD-APPLICATION-KEY: %s\\n' "$DD_API_KEY" "$DD_APP_KEY") \\
    -H 'Content-Type: application/json' \\
    --data '{"bucketKeyPrefix":"api-upload-file","parts":[{"md5":"AAAAAAAAAAAAAAAAAAAAAA==","partNumber":1}]}' \\
    "$DD_API_URL/api/v2/synthetics/tests/abc-def-123/files/multipart-presigned-urls"
}
start >> "$DD_SYNTHETICS_UPLOADS_FILE"
start | tee -a "$DD_SYNTHETICS_UPLOADS_FILE" > /dev/null
answer=$(start)
half=\${answer%%\\"urls\\"*}\\"urls\\":{\\"1\\":\\"http
printf '%s' "$half" >> "$DD_SYNTHETICS_UPLOADS_FILE"
echo 'half written' >&2
sleep 30
printf '%s' "\${answer:\${#half}}" >> "$DD_SYNTHETICS_UPLOADS_FILE"
`
