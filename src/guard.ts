import * as core from '@actions/core'
import { runGuard } from './action/guard.js'

// The entry point of guard/action.yml, for its main and its post step alike.
runGuard().catch((error: unknown) => {
  core.setFailed(`Unexpected error: ${error instanceof Error ? error.message : String(error)}`)
})
