// Jest globalSetup of the e2e project, and the benchmark's "after" build:
// bundles src/ as it is in the working tree, with the flags of `npm run build`
// but into a copy of the action in a temporary folder (its action.yml files,
// dist/ and examples/, as a runner keeps it), so the end-to-end tests never
// run a dist/ that predates the code being edited, and run it from outside
// the workspace.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
// Read by __tests__/support/runner.ts, inherited by the test workers.
const BUNDLE_VARIABLE = 'ABORT_ACTION_TEST_BUNDLE'
// Besides src/, what decides what ncc builds. __tests__/e2e/bundle.test.ts
// hashes the same files its own way and compares.
const BUILD_INPUTS = ['package.json', 'package-lock.json', 'tsconfig.json']

/** sha256 over the path and bytes of every file under src/ and of BUILD_INPUTS, in sorted order. */
function sourcesHash(root) {
  const sources = readdirSync(join(root, 'src'), { recursive: true, withFileTypes: true })
    .filter(entry => entry.isFile())
    .map(entry => relative(root, join(entry.parentPath, entry.name)))
  const hash = createHash('sha256')
  for (const file of [...sources, ...BUILD_INPUTS].sort())
    hash.update(`${file}\0`).update(readFileSync(join(root, file)))
  return hash.digest('hex')
}

/**
 * `npm run build` with dist/ swapped for `outDir`: one ncc argument list per
 * `&&`-joined command (the action, then the guard in dist/guard), so the
 * test builds and the release build cannot drift apart.
 */
function nccCommands(outDir) {
  const script = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.build
  return script.split('&&').map(command => {
    const args = command.trim().split(/\s+/)
    const out = args.indexOf('-o')
    const dist = out === -1 ? '..' : relative('dist', args[out + 1])
    if (args[0] !== 'ncc' || dist.startsWith('..')) {
      throw new Error(`the build script is not "ncc build ... -o dist[/DIR] ..." joined by &&: ${script}`)
    }
    args[out + 1] = join(outDir, dist)
    return args.slice(1)
  })
}

function ncc(args) {
  return new Promise((resolve, reject) =>
    execFile(join(ROOT, 'node_modules', '.bin', 'ncc'), args, { cwd: ROOT }, (error, _stdout, stderr) =>
      error ? reject(Object.assign(error, { stderr })) : resolve()
    )
  )
}

// What of the repository a runner needs beside dist/ to run both actions.
const ACTION_FILES = ['action.yml', 'guard/action.yml', 'examples/upload-test-file.sh']

export default async function buildBundle() {
  const copy = mkdtempSync(join(tmpdir(), 'abort-action-copy-'))
  for (const file of ACTION_FILES) cpSync(join(ROOT, file), join(copy, file))
  const dir = join(copy, 'dist')
  const sources = sourcesHash(ROOT)
  try {
    // The two bundles build side by side: they share nothing but the sources.
    await Promise.all(nccCommands(dir).map(ncc))
  } catch (error) {
    throw new Error(`building src/ for the end-to-end tests failed:\n${error.stderr ?? error.message}`, {
      cause: error
    })
  }
  const bundle = join(dir, 'index.js')
  const bundleSha256 = createHash('sha256').update(readFileSync(bundle)).digest('hex')
  writeFileSync(join(dir, 'stamp.json'), JSON.stringify({ sources, bundleSha256 }))
  process.env[BUNDLE_VARIABLE] = bundle
}
