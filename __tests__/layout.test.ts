// The code's layout as CONTRIBUTING.md draws it: every module listed in the
// code map, and imports that run downward only, with no circle between files.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CONTRIBUTING = readFileSync(join(ROOT, 'CONTRIBUTING.md'), 'utf8')

// The folders of src/ each may import, besides the two every folder may use.
const ALLOWED: Record<string, readonly string[]> = {
  '.': ['action'],
  action: ['inputs', 'manifest', 'report', 'abort', 'datadog', 'transport'],
  inputs: ['manifest'],
  manifest: [],
  report: ['abort'],
  abort: ['datadog', 'transport'],
  datadog: ['transport'],
  transport: [],
  settings: [],
  text: []
}
const BELOW_ALL = ['settings', 'text']

function sources(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter(name => name.endsWith('.ts'))
    .map(name => join(folder, name))
}

/** The modules of src/ a module imports, as paths from the root. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8')
  return [...text.matchAll(/^(?:import|export)\b[^']*'(\.[^']+)'/gm)].map(m =>
    normalize(join(dirname(file), (m[1] ?? '').replace(/\.js$/, '.ts')))
  )
}

const folderOf = (file: string): string => {
  const parts = relative('src', file).split('/')
  return parts.length === 1 ? '.' : (parts[0] ?? '.')
}

test('the code map in CONTRIBUTING.md lists every module of src/ and emulator/', () => {
  const listed = new Set([...CONTRIBUTING.matchAll(/`((?:src|emulator)\/[\w/.-]+\.ts)`/g)].map(m => m[1]))
  // A row may list several emulator files as `a.ts`, `b.ts` after the first.
  for (const m of CONTRIBUTING.matchAll(/`emulator\/[\w.-]+\.ts`((?:, `[\w.-]+\.ts`)+)/g)) {
    for (const name of (m[1] ?? '').matchAll(/`([\w.-]+\.ts)`/g)) listed.add(`emulator/${name[1]}`)
  }
  expect([...sources('src'), ...sources('emulator')].filter(file => !listed.has(file))).toEqual([])
})

test('a folder of src/ imports only the folders below it', () => {
  const wrong = sources('src').flatMap(file =>
    importsOf(file)
      .filter(target => target.startsWith('src/'))
      .map(target => [folderOf(file), folderOf(target), `${file} -> ${target}`] as const)
      .filter(([from, to]) => from !== to && !BELOW_ALL.includes(to) && !ALLOWED[from]?.includes(to))
      .map(([, , edge]) => edge)
  )
  expect(wrong).toEqual([])
  // settings and text sit below everything: text imports nothing of the project, settings only text.
  for (const file of sources('src/text')) expect(importsOf(file).filter(t => !t.startsWith('src/text/'))).toEqual([])
})

test('no circle of imports between the modules of src/', () => {
  const graph = new Map(sources('src').map(file => [file, importsOf(file)]))
  const state = new Map<string, 'open' | 'done'>()
  const circles: string[] = []
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === 'done') return
    if (state.get(file) === 'open') return void circles.push([...path.slice(path.indexOf(file)), file].join(' -> '))
    state.set(file, 'open')
    for (const next of graph.get(file) ?? []) visit(next, [...path, file])
    state.set(file, 'done')
  }
  for (const file of graph.keys()) visit(file, [])
  expect(circles).toEqual([])
})
