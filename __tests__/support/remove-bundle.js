// Jest globalTeardown of the e2e project: removes the copy of the action build-bundle.js made.
import { rmSync } from 'node:fs'
import { dirname } from 'node:path'

export default function removeBundle() {
  const bundle = process.env.ABORT_ACTION_TEST_BUNDLE
  if (bundle) rmSync(dirname(dirname(bundle)), { recursive: true, force: true })
}
