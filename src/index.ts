import * as core from '@actions/core'
import { main } from './main.js'

main().catch((error: unknown) => {
  // Expected failures are reported inside main(); reaching here is a bug.
  core.setFailed(`Unexpected error: ${error instanceof Error ? error.message : String(error)}`)
})
