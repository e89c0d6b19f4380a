import * as core from '@actions/core'
import { readBoundedFile } from '../inputs/files.js'
import { parseInputs } from '../inputs/parse.js'
import { reportInvalidInputs, reportResults } from '../report/report.js'
import { INPUT_NAMES, LIMITS, type RawInputs } from '../settings/settings.js'
import { execute, holdingSignals, maskSecrets, writeReport, writeResultsFile } from './shell.js'

/** The shell: reads inputs, runs the core, reports. Resolves when everything is written. */
export async function run(): Promise<void> {
  await holdingSignals(async held => {
    const redact = maskSecrets()
    // The timeout counts from here: reading and parsing uploads-file is part of the step.
    const started = Date.now()
    const raw: RawInputs = Object.fromEntries(INPUT_NAMES.map(name => [name, core.getInput(name)]))
    const parsed = parseInputs(raw, process.env, path => readBoundedFile(path, LIMITS.uploadsFileBytes))
    for (const warning of parsed.warnings) core.warning(redact(warning))
    if (!parsed.ok) {
      await writeReport(reportInvalidInputs(parsed.errors, parsed.dryRun), redact)
      return
    }
    const results = await execute(parsed.settings, { ...held, started, log: line => core.info(redact(line)), redact })
    const { batch, dryRun, siteLabel } = parsed.settings
    const tookMs = Date.now() - started
    const resultsFile = writeResultsFile(results, redact)
    await writeReport(reportResults(results, { batch, dryRun, siteLabel, tookMs, resultsFile }), redact)
  })
}
