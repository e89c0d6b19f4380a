// CHANGELOG.md is where a release's notes come from (release.yml prints the
// section with scripts/changelog-section.ts), so it must agree with
// package.json before a tag is pushed, not after.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { changelogSection } from '../scripts/changelog-section.ts'
import { NODE24 } from './support/runner.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CHANGELOG = readFileSync(new URL('../CHANGELOG.md', import.meta.url), 'utf8')
const PACKAGE = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string
  repository: { url: string }
}
const REPOSITORY_URL = PACKAGE.repository.url.replace(/^git\+/, '').replace(/\.git$/, '')

const headings = [...CHANGELOG.matchAll(/^## (.*)$/gm)].map(m => m[1] ?? '')
const released = headings.filter(h => h !== '[Unreleased]')
const versionOf = (heading: string): string => /^\[([^\]]+)\]/.exec(heading)?.[1] ?? heading
const links = new Map([...CHANGELOG.matchAll(/^\[([^\]]+)\]: (\S+)$/gm)].map(m => [m[1] ?? '', m[2] ?? '']))

test('has one [Unreleased] section, first', () => {
  expect(headings.filter(h => h.includes('Unreleased'))).toEqual(['[Unreleased]'])
  expect(headings[0]).toBe('[Unreleased]')
})

test('every release is "[X.Y.Z] - YYYY-MM-DD" with a real date, newest first', () => {
  expect(released.length).toBeGreaterThan(0)
  for (const heading of released) {
    const match = /^\[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$/.exec(heading)
    expect({ heading, ok: match !== null }).toEqual({ heading, ok: true })
    const date = match?.[2] ?? ''
    expect(new Date(`${date}T00:00:00Z`).toISOString().slice(0, 10)).toBe(date)
  }
  const versions = released.map(h => versionOf(h).split('.').map(Number))
  const sorted = [...versions].sort((a, b) => b[0]! - a[0]! || b[1]! - a[1]! || b[2]! - a[2]!)
  expect(versions).toEqual(sorted)
})

test('the newest release is the version in package.json, and its section says something', () => {
  expect(versionOf(released[0]!)).toBe(PACKAGE.version)
  expect(changelogSection(CHANGELOG, PACKAGE.version)).toMatch(/\S/)
})

test('the link definitions at the bottom name exactly the sections, on this repository', () => {
  expect([...links.keys()].sort()).toEqual(headings.map(versionOf).sort())
  const newest = versionOf(released[0]!)
  expect(links.get('Unreleased')).toBe(`${REPOSITORY_URL}/compare/v${newest}...HEAD`)
  released.map(versionOf).forEach((version, i) => {
    const older = released[i + 1]
    expect(links.get(version)).toBe(
      older === undefined
        ? `${REPOSITORY_URL}/releases/tag/v${version}`
        : `${REPOSITORY_URL}/compare/v${versionOf(older)}...v${version}`
    )
  })
})

describe('scripts/changelog-section.ts', () => {
  const sample = [
    '# Changelog',
    '',
    '## [Unreleased]',
    '',
    '## [1.1.0] - 2027-01-02',
    '',
    '### Fixed',
    '',
    '- Something.',
    '',
    '## [1.0.0] - 2026-11-25',
    '',
    '- First.',
    '',
    '[Unreleased]: https://example.test/compare/v1.1.0...HEAD'
  ].join('\n')

  test('returns the text between the heading and the next section or the links', () => {
    expect(changelogSection(sample, '1.1.0')).toBe('### Fixed\n\n- Something.')
    expect(changelogSection(sample, '1.0.0')).toBe('- First.')
    expect(changelogSection(sample, 'Unreleased')).toBe('')
    expect(changelogSection(sample, '1.0')).toBeUndefined()
    expect(changelogSection(sample, '2.0.0')).toBeUndefined()
  })

  test('run as the release workflow runs it, prints the section of package.json version', () => {
    const printed = execFileSync(NODE24, ['scripts/changelog-section.ts', PACKAGE.version], {
      cwd: ROOT,
      encoding: 'utf8'
    })
    expect(printed).toBe(`${changelogSection(CHANGELOG, PACKAGE.version) ?? ''}\n`)
  })

  test('fails, saying why, for a version that has no section', () => {
    const run = (): string =>
      execFileSync(NODE24, ['scripts/changelog-section.ts', '0.0.1'], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' })
    expect(run).toThrow(/no section "## \[0\.0\.1\]"/)
  })
})
