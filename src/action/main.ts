import * as core from '@actions/core'
import { readBoundedFile } from '../inputs/files.js'
import { parseInputs } from '../inputs/parse.js'
import { reportInvalidInputs, reportResults } from '../report/report.js'
import { INPUT_NAMES, LIMITS, type RawInputs } from '../settings/settings.js'
import { execute, holdingSignals, maskKeys, write, writeResultsFile } from './shell.js'

/** The shell: reads inputs, runs the core, reports. Resolves when everything is written. */
export async function run(): Promise<void> {
  await holdingSignals(async held => {
    const hide = maskKeys()
    // The timeout counts from here: reading and parsing uploads-file is part of the step.
    const started = Date.now()
    const raw: RawInputs = Object.fromEntries(INPUT_NAMES.map(name => [name, core.getInput(name)]))
    const parsed = parseInputs(raw, process.env, path => readBoundedFile(path, LIMITS.uploadsFileBytes))
    for (const warning of parsed.warnings) core.warning(hide(warning))
    if (!parsed.ok) {
      const dryRun = raw['dry-run']?.trim().toLowerCase() === 'true'
      await write(reportInvalidInputs(parsed.errors, dryRun), hide)
      return
    }
    const results = await execute(parsed.settings, { ...held, started, log: line => core.info(hide(line)) })
    const { batch, dryRun, siteLabel } = parsed.settings
    const tookMs = Date.now() - started
    const resultsFile = writeResultsFile(results, hide)
    await write(reportResults(results, { batch, dryRun, siteLabel, tookMs, resultsFile }), hide)
  })
}
