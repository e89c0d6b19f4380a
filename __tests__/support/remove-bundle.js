// Jest globalTeardown of the e2e project: removes what build-bundle.js built.
import { rmSync } from 'node:fs'
import { dirname } from 'node:path'

export default function removeBundle() {
  const bundle = process.env.ABORT_ACTION_TEST_BUNDLE
  if (bundle) rmSync(dirname(bundle), { recursive: true, force: true })
}
