import { readFileSync } from 'node:fs'
import { expect, test } from '@jest/globals'
import { parse } from 'yaml'
import { INPUT_NAMES } from '../src/settings/settings.js'
import { ACTION_NAME, ACTION_VERSION } from '../src/datadog/version.js'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  name: string
  version: string
  engines?: { node?: string }
}

test('ACTION_VERSION is package.json version, so the User-Agent tells the truth', () => {
  expect(ACTION_VERSION).toBe(pkg.version)
})

test('ACTION_NAME is package.json name', () => {
  expect(ACTION_NAME).toBe(pkg.name)
})

test('the inputs the action reads are exactly the inputs action.yml declares', () => {
  const action = parse(readFileSync(new URL('../action.yml', import.meta.url), 'utf8')) as {
    inputs: Record<string, unknown>
  }
  expect([...INPUT_NAMES].sort()).toEqual(Object.keys(action.inputs).sort())
})

test('the Node version CONTRIBUTING.md asks developers for is the floor of package.json engines', () => {
  const guide = readFileSync(new URL('../CONTRIBUTING.md', import.meta.url), 'utf8')
  const development = guide.slice(guide.indexOf('## Development'))
  const asked = /with Node (\d+(?:\.\d+){0,2}) or later/.exec(development)?.[1]
  expect(asked).toBeDefined()
  expect(pkg.engines?.node).toBe(`>=${asked}`)
})
