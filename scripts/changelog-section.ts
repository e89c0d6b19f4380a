// Prints one version's section of CHANGELOG.md, without its heading: the notes
// of that version's GitHub release (see .github/workflows/release.yml).
//
//   node scripts/changelog-section.ts 1.2.3 [CHANGELOG.md]
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

/** The text under `## [version]` up to the next `## ` heading or the link definitions; undefined without one. */
export function changelogSection(changelog: string, version: string): string | undefined {
  const lines = changelog.split('\n')
  const start = lines.findIndex(line => line.startsWith(`## [${version}]`))
  if (start === -1) return undefined
  const rest = lines.slice(start + 1)
  const end = rest.findIndex(line => line.startsWith('## ') || /^\[[^\]]+\]:\s/.test(line))
  return (end === -1 ? rest : rest.slice(0, end)).join('\n').trim()
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [version, file = 'CHANGELOG.md'] = process.argv.slice(2)
  if (version === undefined || !/^\d+\.\d+\.\d+(?:-[\w.]+)?$/.test(version)) {
    console.error('usage: node scripts/changelog-section.ts X.Y.Z [CHANGELOG.md]')
    process.exit(2)
  }
  const section = changelogSection(readFileSync(file, 'utf8'), version)
  if (!section) {
    console.error(`${file} has no ${section === undefined ? '' : 'text in its '}section "## [${version}]".`)
    process.exit(1)
  }
  process.stdout.write(`${section}\n`)
}
