import type { Redact } from '../text/redact.js'
import { randomUUID } from 'node:crypto'
import { accessSync, constants, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as core from '@actions/core'
import { readBoundedFile } from '../inputs/files.js'
import { reportCleanup } from './guard-report.js'
import { inputReader, parseConnection } from '../inputs/parse.js'
import { guardSource, readManifest } from '../manifest/read.js'
import { Problems } from '../settings/problems.js'
import { reportInvalidInputs } from '../report/report.js'
import { GUARD_INPUT_NAMES, LIMITS, type Connection, type RawInputs } from '../settings/settings.js'
import { execute, holdingSignals, maskSecrets, writeReport, writeResultsFile, type Held } from './shell.js'
import { oneLine, plural } from '../text/text.js'

// The guard (guard/action.yml): its main step creates the manifest that
// upload scripts append to and hands its path to later steps; its post step,
// run when the job failed or was cancelled, aborts every upload the
// manifest names that was not marked completed.

/** The variable later steps find the manifest's path in. */
const MANIFEST_VARIABLE = 'DD_SYNTHETICS_UPLOADS_FILE'
const SCRIPT_VARIABLE = 'DD_SYNTHETICS_UPLOAD_SCRIPT'
const SCRIPT_PATH = ['examples', 'upload-test-file.sh']
// What main leaves for post: never a key.
const STATE = { isPost: 'isPost', manifest: 'manifest' } as const

export async function runGuard(): Promise<void> {
  if (core.getState(STATE.isPost) === 'true') await holdingSignals(post)
  else await main()
}

/** The connection inputs, validated; undefined once the failure is written. */
async function readConnectionInputs(redact: Redact): Promise<Connection | undefined> {
  const raw: RawInputs = Object.fromEntries(GUARD_INPUT_NAMES.map(name => [name, core.getInput(name)]))
  const problems = new Problems()
  const parsed = parseConnection(problems, inputReader(raw), process.env)
  for (const warning of problems.warnings) core.warning(redact(warning))
  if (parsed) return parsed
  await writeReport({ ...reportInvalidInputs(problems.errors, false), outputs: {} }, redact)
  return undefined
}

async function main(): Promise<void> {
  // Saved first: the post step runs after a failed main step too.
  core.saveState(STATE.isPost, 'true')
  const redact = maskSecrets()
  // A wrong site or a missing key fails here, before anything is uploaded.
  if (!(await readConnectionInputs(redact))) return
  const path = join(process.env.RUNNER_TEMP || tmpdir(), `dd-synthetics-uploads-${randomUUID()}.jsonl`)
  try {
    writeFileSync(path, '', { flag: 'wx' })
  } catch (error) {
    core.setFailed(`Could not create the uploads manifest ${path}: ${oneLine((error as Error).message, 200)}`)
    return
  }
  core.exportVariable(MANIFEST_VARIABLE, path)
  core.setOutput('uploads-file', path)
  core.saveState(STATE.manifest, path)
  exportUploadScript()
  core.info(
    `Uploads manifest: ${path}, in $${MANIFEST_VARIABLE} for the steps that follow. Append to it what Datadog answers when an upload starts, and {"completed": {"key": ..., "uploadId": ...}} once it is complete: if the job fails or is cancelled, every upload it names that was not completed is aborted.`
  )
}

/**
 * Hands later steps the upload script shipped with the action, so a workflow
 * calls it wherever the runner keeps the action. This bundle is
 * dist/guard/index.js of the action's folder; the script is in examples/.
 */
function exportUploadScript(): void {
  const bundleDir = dirname(fileURLToPath(import.meta.url))
  const script = resolve(bundleDir, '..', '..', ...SCRIPT_PATH)
  try {
    accessSync(script, constants.X_OK)
  } catch {
    core.warning(`The upload script is not in the action's folder (${script}): ${SCRIPT_VARIABLE} is not set.`)
    return
  }
  core.exportVariable(SCRIPT_VARIABLE, script)
}

/** The manifest's text; undefined when there is nothing to clean up or it could not be read (reported). */
function readManifestFile(): string | undefined {
  const path = core.getState(STATE.manifest)
  if (!path) {
    core.info('The guard created no manifest (its main step failed): nothing to clean up.')
    return undefined
  }
  let text: string
  try {
    text = readBoundedFile(path, LIMITS.uploadsFileBytes)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') core.info(`The manifest ${path} is gone: nothing to clean up.`)
    else core.setFailed(`Could not read the manifest ${path} (${code ?? oneLine((error as Error).message, 200)}).`)
    return undefined
  }
  if (text.trim() === '') core.info('The manifest is empty, no upload was recorded: nothing to clean up.')
  return text.trim() === '' ? undefined : text
}

async function post(held: Held): Promise<void> {
  const started = Date.now()
  const text = readManifestFile()
  if (text === undefined) return
  const redact = maskSecrets()
  const settings = await readConnectionInputs(redact)
  if (!settings) return
  const problems = new Problems()
  const found = readManifest(problems, guardSource(MANIFEST_VARIABLE), text, undefined)
  for (const warning of problems.warnings) core.warning(redact(warning))
  const errors = problems.errors
  if (found.completed > 0) core.info(`${plural(found.completed, 'upload')} marked completed: left alone.`)
  if (found.uploads.length === 0 && errors.length === 0) {
    core.info('The manifest names no upload left open: nothing to clean up.')
    return
  }
  core.info(`Aborting ${plural(found.uploads.length, 'upload')} left open by the failed or cancelled job.`)
  // A 404 means the upload is gone already: what cleanup wants, never a failure.
  const settingsForCleanup = { ...settings, uploads: found.uploads, batch: true, ignoreNotFound: true, dryRun: false }
  const results = await execute(settingsForCleanup, { ...held, started, log: line => core.info(redact(line)), redact })
  const resultsFile = writeResultsFile(results, redact)
  const facts = { batch: true, dryRun: false, siteLabel: settings.siteLabel, tookMs: Date.now() - started, resultsFile }
  await writeReport(reportCleanup(results, facts, errors), redact)
}
