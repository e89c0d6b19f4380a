// The end-to-end tests are only worth something if they run the code as it is
// now: this fails when the harness points at dist/ or at a build of older sources.
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { ROOT, testedBundle } from '../support/runner.ts'

const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex')

/** The stamp's hash, computed here without the globalSetup's code: paths and bytes of src/** and the build inputs, sorted. */
function currentSourcesHash(): string {
  const src = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' }).map(name => `src/${name}`)
  const files = [
    ...src.filter(file => statSync(join(ROOT, file)).isFile()),
    'package.json',
    'package-lock.json',
    'tsconfig.json'
  ]
  const hash = createHash('sha256')
  for (const file of files.sort()) hash.update(`${file}\0`).update(readFileSync(join(ROOT, file)))
  return hash.digest('hex')
}

test('the bundle under test is a fresh build of the current src/, not dist/', () => {
  const bundle = testedBundle()
  expect(relative(join(ROOT, 'dist'), bundle).startsWith('..')).toBe(true)
  const stampFile = join(dirname(bundle), 'stamp.json')
  expect(existsSync(stampFile)).toBe(true)
  const stamp = JSON.parse(readFileSync(stampFile, 'utf8')) as { sources: string; bundleSha256: string }
  expect(sha256(readFileSync(bundle))).toBe(stamp.bundleSha256)
  expect(stamp.sources).toBe(currentSourcesHash())
})
