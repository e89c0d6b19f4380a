// Workflows people copy: the README's examples and this repository's own
// workflows. What actionlint does not check: expressions pasted into shell
// scripts, and scripts that the examples run but the repository lacks.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { expressionsInRun, yamlBlocks } from './support/workflow-text.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const README = readFileSync(join(ROOT, 'README.md'), 'utf8')
const BLOCKS = yamlBlocks(README)
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string
  repository?: { type?: string; url?: string }
}
const WORKFLOW_DIR = join(ROOT, '.github', 'workflows')
const WORKFLOWS = readdirSync(WORKFLOW_DIR).filter(name => /\.ya?ml$/.test(name))

describe('the check for expressions in run: scripts', () => {
  test('catches the step the README once showed', () => {
    const old = `
steps:
  - if: always()
    run: echo "Datadog answered '\${{ steps.abort.outputs.status }}', errors \${{ steps.abort.outputs.errors }}"
`
    expect(expressionsInRun(old)).toEqual([
      'steps[0].run: ${{ steps.abort.outputs.status }}',
      'steps[0].run: ${{ steps.abort.outputs.errors }}'
    ])
  })

  test('catches expressions in block scripts and nested jobs, not in env, with or if', () => {
    const sample = `
jobs:
  a:
    if: \${{ always() }}
    steps:
      - env:
          ERRORS: \${{ steps.abort.outputs.errors }}
        with:
          key: \${{ needs.upload.outputs.key }}
        run: echo "$ERRORS"
      - run: |
          set -e
          curl "\${{ needs.upload.outputs.url }}/x"
`
    expect(expressionsInRun(sample)).toEqual(['jobs.a.steps[1].run: ${{ needs.upload.outputs.url }}'])
  })
})

describe('README.md examples', () => {
  test('there are YAML examples to check', () => {
    expect(BLOCKS.length).toBeGreaterThan(0)
  })

  test.each(BLOCKS.map(b => [b.line, b.text] as const))(
    'block at line %i hands every ${{ }} value to shell through env:',
    (_line, text) => {
      expect(expressionsInRun(text)).toEqual([])
    }
  )

  test('every script that a run: step starts with ./ is in the repository', () => {
    const scripts = BLOCKS.flatMap(block => runScripts(parse(block.text)))
      .flatMap(script => [...script.matchAll(/(?:^|[\s;&|(])\.\/([\w./-]+)/g)].map(m => m[1] ?? ''))
      .filter(path => path !== '')
    expect(scripts.length).toBeGreaterThan(0)
    expect(scripts.filter(path => !existsSync(join(ROOT, path)))).toEqual([])
  })
})

describe('the repository users pin', () => {
  const url = PACKAGE.repository?.url ?? ''
  const repository = /^git\+https:\/\/github\.com\/([\w.-]+\/[\w.-]+?)\.git$/.exec(url)?.[1]

  test('package.json names it once, as a GitHub repository named after the package', () => {
    expect(PACKAGE.repository?.type).toBe('git')
    expect(repository).toBeDefined()
    expect(repository?.split('/')[1]).toBe(PACKAGE.name)
  })

  test("every uses: in the README is that repository or one of GitHub's own actions", () => {
    const refs = [...README.matchAll(/uses:\s*([^\s@`]+)@/g)].map(m => m[1] ?? '')
    expect(refs.filter(ref => ref === repository).length).toBeGreaterThanOrEqual(3)
    expect(refs.filter(ref => ref !== repository && !ref.startsWith('actions/'))).toEqual([])
  })

  test('no placeholder owner is left in the README', () => {
    expect(README).not.toMatch(/your-org|OWNER\/|<owner>/i)
  })
})

describe.each(WORKFLOWS)('.github/workflows/%s', name => {
  test('hands every ${{ }} value to shell through env:', () => {
    expect(expressionsInRun(readFileSync(join(WORKFLOW_DIR, name), 'utf8'))).toEqual([])
  })
})

/** The values of every run: key in a parsed workflow or fragment. */
function runScripts(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(runScripts)
  if (node === null || typeof node !== 'object') return []
  return Object.entries(node as Record<string, unknown>).flatMap(([key, value]) =>
    key === 'run' && typeof value === 'string' ? [value] : runScripts(value)
  )
}
