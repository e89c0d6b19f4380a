import * as core from '@actions/core'
import { run } from './action/main.js'

run().catch((error: unknown) => {
  // Expected failures are reported inside run(); reaching here is a bug.
  core.setFailed(`Unexpected error: ${error instanceof Error ? error.message : String(error)}`)
})
