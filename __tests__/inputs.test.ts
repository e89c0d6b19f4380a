import { describe, expect, test } from '@jest/globals'
import { parseInputs } from '../src/inputs/parse.js'
import { LIMITS, type Env, type RawInputs, type Settings } from '../src/settings/settings.js'

const API = '0123456789abcdef0123456789abcdef' // 32 hex: shaped like an API key
const APP = 'fedcba9876543210fedcba9876543210fedcba98' // 40 hex: shaped like an application key
const TOKEN = 'ddpat_Xq7vN2mK9pL4rT8wZ3bH6cY1fJ5dG0eA' // a personal access token
const KEY = 'org-123/api-upload-file/abc-def-123/2024-01-01T00:00:00_uuid.json'
const SINGLE: RawInputs = {
  'api-key': API,
  'app-key': APP,
  'test-id': 'abc-def-123',
  key: KEY,
  'upload-id': 'upload-1'
}

const { 'api-key': _api, 'app-key': _app, ...NO_KEYS } = SINGLE

const noFile = (path: string): string => {
  throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' })
}

function parse(raw: RawInputs, env: Env = {}, readFile: (path: string) => string = noFile) {
  return parseInputs(raw, env, readFile)
}

function settingsOf(raw: RawInputs, env: Env = {}, readFile?: (path: string) => string): Settings {
  const result = parse(raw, env, readFile)
  if (!result.ok) throw new Error(`expected success, got: ${result.errors.join(' | ')}`)
  return result.settings
}

function errorsOf(raw: RawInputs, env: Env = {}, readFile?: (path: string) => string): string[] {
  const result = parse(raw, env, readFile)
  if (result.ok) throw new Error('expected input errors, got none')
  return result.errors
}

/** Exactly one error, and it names the given input. */
function oneErrorNaming(name: string, raw: RawInputs, env: Env = {}, readFile?: (path: string) => string): string {
  const errors = errorsOf(raw, env, readFile)
  expect(errors).toHaveLength(1)
  expect(errors[0]).toContain(name)
  return errors[0] ?? ''
}

describe('defaults', () => {
  test('a single upload with nothing else set', () => {
    const result = parse(SINGLE)
    expect(result).toEqual({
      ok: true,
      warnings: [],
      settings: {
        credentials: { kind: 'keys', apiKey: API, appKey: APP },
        baseUrl: 'https://api.datadoghq.com',
        siteLabel: 'datadoghq.com (US1)',
        uploads: [{ testId: 'abc-def-123', key: KEY, uploadId: 'upload-1' }],
        batch: false,
        ignoreNotFound: false,
        maxRetries: 5,
        timeoutMs: 120_000,
        concurrency: 4,
        dryRun: false
      }
    })
  })

  test('surrounding white space in every input is ignored', () => {
    const padded = Object.fromEntries(
      Object.entries({ ...SINGLE, site: 'datadoghq.eu' }).map(([k, v]) => [k, ` \n${v}\t `])
    )
    const settings = settingsOf(padded)
    expect(settings.credentials).toEqual({ kind: 'keys', apiKey: API, appKey: APP })
    expect(settingsOf({ ...NO_KEYS, 'access-token': ` \n${TOKEN}\t ` }).credentials).toEqual({
      kind: 'token',
      token: TOKEN
    })
    expect(settings.baseUrl).toBe('https://api.datadoghq.eu')
    expect(settings.uploads).toEqual([{ testId: 'abc-def-123', key: KEY, uploadId: 'upload-1' }])
  })
})

describe('environment fallbacks', () => {
  test('DD_API_KEY and DD_APP_KEY are used when the inputs are empty', () => {
    const settings = settingsOf({ ...SINGLE, 'api-key': '', 'app-key': '  ' }, { DD_API_KEY: API, DD_APP_KEY: APP })
    expect(settings.credentials).toEqual({ kind: 'keys', apiKey: API, appKey: APP })
  })

  test('DD_BEARER_TOKEN is used when "access-token" is empty, and needs no key', () => {
    const result = parse({ ...NO_KEYS, 'access-token': ' ' }, { DD_BEARER_TOKEN: TOKEN })
    expect(result.ok && result.settings.credentials).toEqual({ kind: 'token', token: TOKEN })
    expect(result.warnings).toEqual([])
  })

  test('inputs win over the environment', () => {
    const otherApi = 'a'.repeat(32)
    const otherApp = 'b'.repeat(40)
    const settings = settingsOf(SINGLE, { DD_API_KEY: otherApi, DD_APP_KEY: otherApp })
    expect(settings.credentials).toEqual({ kind: 'keys', apiKey: API, appKey: APP })
    const token = settingsOf({ ...NO_KEYS, 'access-token': TOKEN }, { DD_BEARER_TOKEN: 'ddpat_' + 'o'.repeat(30) })
    expect(token.credentials).toEqual({ kind: 'token', token: TOKEN })
  })

  test('DD_SITE is used when "site" is empty, and "site" wins when given', () => {
    expect(settingsOf(SINGLE, { DD_SITE: 'EU1' }).baseUrl).toBe('https://api.datadoghq.eu')
    expect(settingsOf({ ...SINGLE, site: 'us5.datadoghq.com' }, { DD_SITE: 'EU1' }).baseUrl).toBe(
      'https://api.us5.datadoghq.com'
    )
  })

  test('an unknown DD_SITE is an error naming the environment variable, not an input', () => {
    const message = oneErrorNaming('The DD_SITE environment variable', SINGLE, { DD_SITE: 'datadoghq.co' })
    expect(message).not.toContain('Input')
  })

  test('an unknown datadog-site alone is an error naming datadog-site', () => {
    oneErrorNaming('Input "datadog-site"', { ...SINGLE, 'datadog-site': 'datadoghq.con' })
  })

  test('no credential at all: one error naming the three ways to give one', () => {
    const message = oneErrorNaming('No Datadog credentials', { ...SINGLE, 'api-key': '', 'app-key': '' })
    for (const way of ['"api-key" and "app-key"', '"access-token"', 'DD_API_KEY and DD_APP_KEY', 'DD_BEARER_TOKEN']) {
      expect(message).toContain(way)
    }
  })

  test('one key missing from inputs and environment: that key reported, naming input and variable', () => {
    const message = oneErrorNaming('"app-key"', { ...SINGLE, 'app-key': '' })
    expect(message).toContain('DD_APP_KEY')
    expect(oneErrorNaming('"api-key"', { ...SINGLE, 'api-key': '' }, { DD_APP_KEY: APP })).toContain('DD_API_KEY')
  })
})

describe('site', () => {
  test.each([
    ['datadoghq.eu', 'https://api.datadoghq.eu', 'datadoghq.eu (EU1)'],
    ['https://app.us3.datadoghq.com/', 'https://api.us3.datadoghq.com', 'us3.datadoghq.com (US3)'],
    ['US2-FED', 'https://api.us2.ddog-gov.com', 'us2.ddog-gov.com (US2-FED)']
  ])('%j', (site, baseUrl, label) => {
    const settings = settingsOf({ ...SINGLE, site })
    expect(settings.baseUrl).toBe(baseUrl)
    expect(settings.siteLabel).toBe(label)
  })

  test('an unknown site is one error naming "site" with a suggestion', () => {
    expect(oneErrorNaming('"site"', { ...SINGLE, site: 'datadog.eu' })).toContain('"datadoghq.eu"')
  })
})

describe('api-url', () => {
  test.each([
    ['https://api.datadoghq.com', 'https://api.datadoghq.com'],
    ['https://api.datadoghq.com/', 'https://api.datadoghq.com'],
    ['https://api.datadoghq.com/api/v2', 'https://api.datadoghq.com'],
    ['https://api.datadoghq.com/api/v2/', 'https://api.datadoghq.com'],
    ['https://proxy.example:8443/datadog/api/v2', 'https://proxy.example:8443/datadog'],
    ['https://proxy.example/datadog/', 'https://proxy.example/datadog'],
    ['http://127.0.0.1:8126', 'http://127.0.0.1:8126'],
    ['http://127.10.20.30/api/v2', 'http://127.10.20.30'],
    ['http://[::1]:9000', 'http://[::1]:9000'],
    ['http://localhost:3000/', 'http://localhost:3000'],
    ['HTTP://LOCALHOST:3000', 'http://localhost:3000']
  ])('%j is accepted as %j', (apiUrl, baseUrl) => {
    expect(settingsOf({ ...SINGLE, 'api-url': apiUrl }).baseUrl).toBe(baseUrl)
  })

  test('api-url overrides site and DD_SITE', () => {
    const settings = settingsOf(
      { ...SINGLE, 'api-url': 'https://proxy.example', site: 'datadoghq.eu' },
      { DD_SITE: 'AP1' }
    )
    expect(settings.baseUrl).toBe('https://proxy.example')
    expect(settings.siteLabel).toBe('proxy.example')
  })

  test.each([
    ['http://api.datadoghq.com', /https:\/\//],
    ['http://127.0.0.1.evil.example', /https:\/\//],
    ['http://localhost.evil.example', /https:\/\//],
    ['http://10.0.0.1', /https:\/\//],
    ['ftp://api.datadoghq.com', /https:\/\//],
    ['https://user:pass@proxy.example', /user name or password/],
    ['https://user@proxy.example', /user name or password/],
    ['https://proxy.example/?x=1', /query/],
    ['https://proxy.example/#frag', /fragment/],
    ['api.datadoghq.com', /not a URL/],
    ['https://', /not a URL/]
  ])('%j is refused', (apiUrl, why) => {
    expect(oneErrorNaming('"api-url"', { ...SINGLE, 'api-url': apiUrl })).toMatch(why)
  })

  test('a Datadog web-app host in api-url gets a warning pointing at "site"', () => {
    const result = parse({ ...SINGLE, 'api-url': 'https://app.datadoghq.com' })
    expect(result.ok).toBe(true)
    expect(result.warnings.join('\n')).toMatch(/"site"/)
  })

  test('a real API host in api-url gets no warning', () => {
    expect(parse({ ...SINGLE, 'api-url': 'https://api.datadoghq.eu' }).warnings).toEqual([])
  })
})

describe('test-id', () => {
  test('is trimmed', () => {
    expect(settingsOf({ ...SINGLE, 'test-id': '  abc-def-123 \n' }).uploads[0]?.testId).toBe('abc-def-123')
  })

  test.each([
    'https://app.datadoghq.com/synthetics/details/abc-def-123',
    'https://app.datadoghq.eu/synthetics/details/abc-def-123?from_ts=1&live=true',
    'https://app.datadoghq.com/synthetics/details/ABC-DEF-123/edit',
    'http://app.datadoghq.com/synthetics/details/abc-def-123#results'
  ])('a pasted test URL %j gives its public ID', url => {
    const result = parse({ ...SINGLE, 'test-id': url })
    expect(result.ok && result.settings.uploads[0]?.testId).toBe('abc-def-123')
    expect(result.warnings).toEqual([])
  })

  test('a URL with no public ID in it is refused', () => {
    oneErrorNaming('"test-id"', { ...SINGLE, 'test-id': 'https://app.datadoghq.com/synthetics/tests' })
  })

  test.each([
    'abc/def',
    'abc?def',
    'abc#def',
    'abc%2fdef',
    '..',
    'abc..def',
    'abc def',
    'abc\tdef',
    'abc\u0000def',
    'abc\\def',
    'a\u2028b'
  ])('%j is refused, naming the input', testId => {
    oneErrorNaming('"test-id"', { ...SINGLE, 'test-id': testId })
  })

  test('an over-long ID is refused', () => {
    oneErrorNaming('"test-id"', { ...SINGLE, 'test-id': 'a'.repeat(65) })
  })

  test.each(['abc_def_123', 'my_test.v2', 'abc-def-1234', 'abcdef123'])(
    '%j, not a public ID, is refused before any request, naming the shape and the test of the key',
    testId => {
      const message = oneErrorNaming('"test-id"', { ...SINGLE, 'test-id': testId })
      expect(message).toContain('three groups of three lower-case letters or digits, like abc-def-123')
      expect(message).toContain('The key names test abc-def-123; did you mean that?')
    }
  )

  test('a bad ID with a key that names no test gets no guess', () => {
    const message = oneErrorNaming('"test-id"', { ...SINGLE, 'test-id': 'abc_def_123', key: 'no-test-here' })
    expect(message).not.toContain('did you mean')
  })

  test('an ID in capitals is the same test', () => {
    expect(settingsOf({ ...SINGLE, 'test-id': 'ABC-DEF-123' }).uploads[0]?.testId).toBe('abc-def-123')
  })

  test('empty: the test the key names is used, with no warning', () => {
    const result = parse({ ...SINGLE, 'test-id': '' })
    expect(result.ok && result.settings.uploads).toEqual([{ testId: 'abc-def-123', key: KEY, uploadId: 'upload-1' }])
    expect(result.warnings).toEqual([])
  })

  test('empty, with a key that names no test: an error saying so, without blaming step outputs', () => {
    const message = oneErrorNaming('"test-id"', { ...SINGLE, 'test-id': '', key: 'custom/path/f.json' })
    expect(message).toContain('the key does not name a test')
    expect(message).not.toMatch(/step output|outputs/)
  })

  test('a key of another test is sent as asked, with a warning that Datadog will answer 404', () => {
    const result = parse({ ...SINGLE, 'test-id': 'xyz-xyz-999' })
    expect(result.ok).toBe(true)
    expect(result.warnings.join('\n')).toMatch(/abc-def-123.*xyz-xyz-999.*404/)
  })
})

describe('key and upload-id', () => {
  test.each([
    ['key', 'upload-id'],
    ['upload-id', 'key']
  ])('%s empty while %s is set: an error naming both, with the step-output hint', (name, other) => {
    const message = oneErrorNaming(`"${name}"`, { ...SINGLE, [name]: '  ' })
    expect(message).toContain(`"${other}" is set`)
    expect(message).toMatch(/If it comes from a step output/)
  })

  test('both empty: one error naming both, the step output only as a possibility', () => {
    const message = oneErrorNaming('"key" and "upload-id"', { ...SINGLE, key: '', 'upload-id': '' })
    expect(message).toContain('"uploads"')
    expect(message).toMatch(/If it comes from a step output/)
  })

  test.each(['api-upload-file/abc-def-123/file.json', 'browser-upload-file-step/abc-def-123/file.json'])(
    'a key shaped like the bucketKey (%s) is sent, after a warning naming the right field',
    key => {
      const result = parse({ ...SINGLE, key })
      expect(result.ok).toBe(true)
      expect(result.warnings.join('\n')).toMatch(/looks like the bucketKey.*multipart_presigned_urls_params\.key.*404/)
    }
  )

  test('a key shaped like the bucketKey, with no test-id: the warning comes with the error', () => {
    const result = parse({ ...SINGLE, 'test-id': '', key: 'api-upload-file/abc-def-123/file.json' })
    expect(result.ok).toBe(false)
    expect(result.warnings.join('\n')).toMatch(/looks like the bucketKey/)
  })

  test('key and upload-id swapped are refused before any request, naming both', () => {
    const message = oneErrorNaming('"key" and "upload-id"', {
      ...SINGLE,
      key: 'upload-1',
      'upload-id': KEY
    })
    expect(message).toMatch(/look swapped/)
  })

  test('a manifest entry with key and uploadId swapped is refused, naming the entry', () => {
    const entry = { key: 'upload-id-abc', uploadId: 'org-1/api-upload-file/abc-def-123/f.json' }
    expect(errorsOf({ 'api-key': API, 'app-key': APP, uploads: JSON.stringify([entry]) })).toEqual([
      expect.stringMatching(/^uploads\[0\]: "key" and "uploadId" look swapped/)
    ])
  })

  test.each(['key', 'upload-id'])('%s: control characters and inner line breaks are refused', name => {
    oneErrorNaming(`"${name}"`, { ...SINGLE, [name]: 'abc\ndef' })
    oneErrorNaming(`"${name}"`, { ...SINGLE, [name]: 'abc\u0007def' })
  })

  test.each([
    ['key', LIMITS.keyChars],
    ['upload-id', LIMITS.uploadIdChars]
  ])('%s: bounded length', (name, max) => {
    expect(parse({ ...SINGLE, [name]: 'k'.repeat(max) }).ok).toBe(true)
    oneErrorNaming(`"${name}"`, { ...SINGLE, [name]: 'k'.repeat(max + 1) })
  })

  test('both are trimmed', () => {
    const upload = settingsOf({ ...SINGLE, key: ` ${KEY} `, 'upload-id': '\tupload-1\n' }).uploads[0]
    expect(upload).toEqual({ testId: 'abc-def-123', key: KEY, uploadId: 'upload-1' })
  })
})

describe('api-key, app-key and access-token', () => {
  test.each(['api-key', 'app-key', 'access-token'])(
    '%s with white space, control or non-ASCII characters is refused without echoing it',
    name => {
      for (const bad of [
        '0123456789abcdef 0123456789abcde',
        '0123456789abcdef\u00000123456789abcde',
        'ключ'.repeat(8)
      ]) {
        const message = oneErrorNaming(`"${name}"`, { ...SINGLE, [name]: bad })
        expect(message).not.toContain(bad.slice(0, 16))
      }
    }
  )

  test.each([
    ['api-key', LIMITS.secretChars],
    ['app-key', LIMITS.secretChars],
    ['access-token', LIMITS.tokenChars]
  ])('%s over the length bound is refused without echoing it', (name, max) => {
    expect(parse({ ...SINGLE, [name]: 'c'.repeat(max) }).ok).toBe(true)
    const message = oneErrorNaming(`"${name}"`, { ...SINGLE, [name]: 'c'.repeat(max + 1) })
    expect(message).not.toContain('cccccccc')
  })

  test.each([
    ['DD_API_KEY', { ...SINGLE, 'api-key': '' }],
    ['DD_BEARER_TOKEN', NO_KEYS]
  ])('a bad value of %s is reported under its variable name', (variable, raw) => {
    const message = oneErrorNaming(variable, raw, { [variable]: 'abc def' })
    expect(message).not.toContain('abc def')
  })

  test('a token pasted with its "Bearer " in front is refused, saying to give the token alone', () => {
    const message = oneErrorNaming('"access-token"', { ...NO_KEYS, 'access-token': `Bearer ${TOKEN}` })
    expect(message).toContain('without "Bearer "')
    expect(message).not.toContain(TOKEN)
  })

  test('the same value in both is refused', () => {
    const message = oneErrorNaming('"api-key"', { ...SINGLE, 'app-key': API })
    expect(message).toContain('"app-key"')
    expect(message).not.toContain(API)
  })

  test('swapped keys (40-hex api-key, 32-hex app-key) are detected', () => {
    const message = oneErrorNaming('"api-key"', { ...SINGLE, 'api-key': APP, 'app-key': API })
    expect(message).toMatch(/swapped/)
    expect(message).not.toContain(API)
    expect(message).not.toContain(APP)
  })

  test('keys of other shapes are not second-guessed', () => {
    expect(parse({ ...SINGLE, 'api-key': 'k'.repeat(40), 'app-key': 'p'.repeat(32) }).ok).toBe(true)
    expect(parse({ ...SINGLE, 'api-key': 'Key_of-16-chars!', 'app-key': 'Z'.repeat(100) }).ok).toBe(true)
  })

  test.each([
    ['api-key', /characters? long; a Datadog key is 32 or 40/],
    ['app-key', /characters? long; a Datadog key is 32 or 40/],
    ['access-token', /characters? long; a Datadog access token is 16 to 4096/]
  ])('%s shorter than 16 characters is refused as malformed, without echoing it', (name, expected) => {
    for (const short of ['Q', 'zx9Q7w', 'Q'.repeat(15)]) {
      const message = oneErrorNaming(`"${name}"`, { ...SINGLE, [name]: short })
      expect(message).toMatch(expected)
      expect(message).not.toContain(short)
    }
  })

  test('a token with key inputs: the token is used, the key inputs are named unused in a warning', () => {
    const both = parse({ ...SINGLE, 'access-token': TOKEN })
    expect(both.ok && both.settings.credentials).toEqual({ kind: 'token', token: TOKEN })
    expect(both.warnings).toEqual([
      'Input "access-token" gives an access token, which is used instead of the keys: "api-key" and "app-key" are left unused. Remove the key inputs from the step, or the token to use the keys.'
    ])
    const one = parse({ ...NO_KEYS, 'app-key': APP }, { DD_BEARER_TOKEN: TOKEN })
    expect(one.ok && one.settings.credentials).toEqual({ kind: 'token', token: TOKEN })
    expect(one.warnings).toEqual([
      expect.stringMatching(/^The DD_BEARER_TOKEN environment variable .*: "app-key" is left unused/)
    ])
    for (const text of [...both.warnings, ...one.warnings]) {
      for (const secret of [API, APP, TOKEN]) expect(text).not.toContain(secret)
    }
  })

  test('a token with keys from the environment only: the token is used, the keys ignored without a word', () => {
    const result = parse({ ...NO_KEYS, 'access-token': TOKEN }, { DD_API_KEY: API, DD_APP_KEY: APP })
    expect(result.ok && result.settings.credentials).toEqual({ kind: 'token', token: TOKEN })
    expect(result.warnings).toEqual([])
  })

  test('a malformed token is an error even beside good keys: never a silent fall back to the keys', () => {
    oneErrorNaming('"access-token"', { ...SINGLE, 'access-token': 'short' })
  })

  test.each(['dry-run', 'ignore-not-found', 'max-retries', 'timeout', 'concurrency'])(
    'a key pasted into %s is quoted by no more than 7 characters',
    name => {
      const message = oneErrorNaming(`"${name}"`, { ...SINGLE, [name]: API })
      for (let i = 0; i + 8 <= API.length; i++) expect(message).not.toContain(API.slice(i, i + 8))
    }
  )
})

describe('booleans and numbers', () => {
  test.each([
    ['true', true],
    ['TRUE', true],
    ['True', true],
    ['false', false],
    ['False', false],
    ['', false]
  ])('ignore-not-found / dry-run %j', (value, expected) => {
    const settings = settingsOf({ ...SINGLE, 'ignore-not-found': value, 'dry-run': value })
    expect(settings.ignoreNotFound).toBe(expected)
    expect(settings.dryRun).toBe(expected)
  })

  test.each(['ignore-not-found', 'dry-run'])('%s refuses anything but true/false', name => {
    for (const value of ['yes', '1', 'on', 'truee']) oneErrorNaming(`"${name}"`, { ...SINGLE, [name]: value })
  })

  test.each([
    ['max-retries', '0', 'maxRetries', 0],
    ['max-retries', '20', 'maxRetries', 20],
    ['max-retries', ' 3 ', 'maxRetries', 3],
    ['timeout', '1', 'timeoutMs', 1000],
    ['timeout', '3600', 'timeoutMs', 3_600_000],
    ['timeout', '2.5', 'timeoutMs', 2500],
    ['concurrency', '1', 'concurrency', 1],
    ['concurrency', '32', 'concurrency', 32]
  ] as const)('%s %j is accepted', (name, value, field, expected) => {
    expect(settingsOf({ ...SINGLE, [name]: value })[field]).toBe(expected)
  })

  test.each([
    ['max-retries', ['21', '-1', '1.5', 'five', '1e1', '+2', '99999999999999999999']],
    ['timeout', ['0', '0.5', '3601', '-5', 'Infinity', 'NaN', '10s', '1e3']],
    ['concurrency', ['0', '33', '2.0', 'many']]
  ] as const)('%s refuses out-of-range or non-numbers', (name, values) => {
    for (const value of values) oneErrorNaming(`"${name}"`, { ...SINGLE, [name]: value })
  })

  test('every problem is reported at once', () => {
    const errors = errorsOf({
      ...SINGLE,
      'max-retries': 'x',
      timeout: 'y',
      concurrency: 'z',
      'dry-run': 'maybe',
      site: 'nowhere'
    })
    expect(errors).toHaveLength(5)
    for (const name of ['"max-retries"', '"timeout"', '"concurrency"', '"dry-run"', '"site"']) {
      expect(errors.some(e => e.includes(name))).toBe(true)
    }
  })
})

describe('batch: uploads', () => {
  const KEYS = { 'api-key': API, 'app-key': APP }
  const presigned = (testId: string, uploadId: string) => ({
    bucketKey: `api-upload-file/${testId}/file.json`,
    multipart_presigned_urls_params: {
      key: `org-1/api-upload-file/${testId}/2024-01-01T00:00:00_${uploadId}.json`,
      upload_id: uploadId,
      urls: { '1': 'https://bucket.example/part1' }
    }
  })

  test("the answer as Datadog's TypeScript client serializes it (multipartPresignedUrlsParams, uploadId)", () => {
    const answer = presigned('abc-def-123', 'u9')
    const serialized = {
      bucketKey: answer.bucketKey,
      multipartPresignedUrlsParams: {
        key: answer.multipart_presigned_urls_params.key,
        uploadId: 'u9',
        urls: answer.multipart_presigned_urls_params.urls
      }
    }
    const result = parse({ ...KEYS, uploads: JSON.stringify([serialized]) })
    expect(result.ok && result.settings.uploads).toEqual([
      { testId: 'abc-def-123', key: answer.multipart_presigned_urls_params.key, uploadId: 'u9', entry: 'uploads[0]' }
    ])
    expect(result.warnings).toEqual([])
    expect(errorsOf({ ...KEYS, uploads: '{"multipartPresignedUrlsParams":{"key":"k"}}' }).join('\n')).toMatch(
      /uploads\.multipartPresignedUrlsParams\.uploadId is missing/
    )
  })

  test('a JSON array of entries', () => {
    const settings = settingsOf({
      ...KEYS,
      uploads: JSON.stringify([
        { testId: 'aaa-bbb-ccc', key: 'k1', uploadId: 'u1' },
        { testId: ' ddd-eee-fff ', key: ' k2 ', uploadId: ' u2 ' }
      ])
    })
    expect(settings.batch).toBe(true)
    expect(settings.uploads).toEqual([
      { testId: 'aaa-bbb-ccc', key: 'k1', uploadId: 'u1', entry: 'uploads[0]' },
      { testId: 'ddd-eee-fff', key: 'k2', uploadId: 'u2', entry: 'uploads[1]' }
    ])
  })

  test('testId falls back to test-id, then to the public ID in the key', () => {
    const uploads = JSON.stringify([
      { testId: 'aaa-bbb-ccc', key: 'org/api-upload-file/zzz-zzz-zzz/f', uploadId: 'u1' },
      { key: 'k2', uploadId: 'u2' },
      { key: 'org/api-upload-file/ddd-eee-fff/f', uploadId: 'u3' }
    ])
    expect(settingsOf({ ...KEYS, 'test-id': 'xxx-yyy-zzz', uploads }).uploads.map(u => u.testId)).toEqual([
      'aaa-bbb-ccc',
      'xxx-yyy-zzz',
      'xxx-yyy-zzz'
    ])
    const withoutDefault = JSON.stringify([{ key: 'org/browser-upload-file-step/ddd-eee-fff/f', uploadId: 'u3' }])
    expect(settingsOf({ ...KEYS, uploads: withoutDefault }).uploads).toEqual([
      { testId: 'ddd-eee-fff', key: 'org/browser-upload-file-step/ddd-eee-fff/f', uploadId: 'u3', entry: 'uploads[0]' }
    ])
  })

  test('test-id given as a URL also serves as the batch default', () => {
    const uploads = JSON.stringify([{ key: 'k', uploadId: 'u' }])
    const settings = settingsOf({
      ...KEYS,
      'test-id': 'https://app.datadoghq.com/synthetics/details/abc-def-123',
      uploads
    })
    expect(settings.uploads[0]?.testId).toBe('abc-def-123')
  })

  test("Datadog's presigned-URLs answer, alone", () => {
    const settings = settingsOf({ ...KEYS, uploads: JSON.stringify(presigned('abc-def-123', 'U1')) })
    expect(settings.uploads).toEqual([
      {
        testId: 'abc-def-123',
        key: 'org-1/api-upload-file/abc-def-123/2024-01-01T00:00:00_U1.json',
        uploadId: 'U1',
        entry: 'uploads'
      }
    ])
    expect(settings.batch).toBe(true)
  })

  test('presigned-URLs answers in an array, mixed with plain entries', () => {
    const settings = settingsOf({
      ...KEYS,
      uploads: JSON.stringify([
        presigned('abc-def-123', 'U1'),
        presigned('ddd-eee-fff', 'U2'),
        { testId: 'ggg-hhh-iii', key: 'k', uploadId: 'U3' }
      ])
    })
    expect(settings.uploads.map(u => [u.testId, u.uploadId])).toEqual([
      ['abc-def-123', 'U1'],
      ['ddd-eee-fff', 'U2'],
      ['ggg-hhh-iii', 'U3']
    ])
  })

  test('duplicates are aborted once', () => {
    const entry = { testId: 'abc-def-123', key: 'k', uploadId: 'u' }
    const settings = settingsOf({
      ...KEYS,
      uploads: JSON.stringify([entry, { ...entry, key: ' k ' }, { ...entry, uploadId: 'other' }, entry])
    })
    expect(settings.uploads).toEqual([
      { ...entry, entry: 'uploads[0]' },
      { ...entry, uploadId: 'other', entry: 'uploads[2]' }
    ])
  })

  test('duplicates are counted in one warning', () => {
    const entry = { testId: 'abc-def-123', key: 'k', uploadId: 'u' }
    const result = parse({ ...KEYS, uploads: JSON.stringify([entry, entry, { ...entry, uploadId: 'v' }, entry]) })
    expect(result.ok).toBe(true)
    expect(result.warnings).toEqual([
      'Input "uploads" has 2 duplicates (same test, key and upload ID as an earlier entry); each upload is aborted once.'
    ])
    const once = parse({ ...KEYS, uploads: JSON.stringify([entry, { ...entry, uploadId: 'v' }]) })
    expect(once.warnings).toEqual([])
  })

  test('an entry testId that is not a public ID is refused, offering the test its key names', () => {
    const uploads = JSON.stringify([{ testId: 'abc_def_123', key: KEY, uploadId: 'u' }])
    const message = oneErrorNaming('uploads[0].testId', { ...KEYS, uploads })
    expect(message).toContain('like abc-def-123')
    expect(message).toContain('The key names test abc-def-123; did you mean that?')
  })

  test('errors name the entry and field', () => {
    const errors = errorsOf({
      ...KEYS,
      'test-id': 'abc-def-123',
      uploads: JSON.stringify([
        { key: 'k', uploadId: 'u' },
        { key: 'k' },
        { uploadId: 'u', key: 5 },
        'just a string',
        { key: 'k', uploadId: 'u', testId: 'a/b' },
        { key: '', uploadId: 'u\nv' },
        { multipart_presigned_urls_params: { key: 'k' } }
      ])
    })
    const expected = [
      'uploads[1].uploadId',
      'uploads[2].key',
      'uploads[3]',
      'uploads[4].testId',
      'uploads[5].key',
      'uploads[5].uploadId',
      'uploads[6].multipart_presigned_urls_params.upload_id'
    ]
    expect(errors).toHaveLength(expected.length)
    expected.forEach((where, i) => expect(errors[i]?.startsWith(where)).toBe(true))
  })

  test('an entry with no test to go by is an error naming it', () => {
    const errors = errorsOf({ ...KEYS, uploads: JSON.stringify([{ key: 'no-test-here', uploadId: 'u' }]) })
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/^uploads\[0\].*"testId".*"test-id"/)
  })

  test.each([
    ['not JSON', 'abc-def-123', /"uploads" is not valid JSON/],
    ['a number', '42', /^uploads must be an object/]
  ])('%s is refused', (_, uploads, message) => {
    const errors = errorsOf({ ...KEYS, uploads })
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(message)
  })

  test('an empty list is nothing to do: success, with a warning', () => {
    const result = parse({ ...KEYS, uploads: '[]' })
    expect(result.ok && result.settings.uploads).toEqual([])
    expect(result.warnings).toEqual([expect.stringMatching(/"uploads" is an empty list: there is nothing to abort/)])
  })

  test('too many entries is refused', () => {
    const many = JSON.stringify(
      Array.from({ length: LIMITS.uploads + 1 }, (_, i) => ({ testId: 'abc-def-123', key: 'k', uploadId: `u${i}` }))
    )
    oneErrorNaming('"uploads"', { ...KEYS, uploads: many })
  })

  test('both forms at once is an error naming both', () => {
    const uploads = JSON.stringify([{ testId: 'abc-def-123', key: 'k', uploadId: 'u' }])
    const message = oneErrorNaming('"uploads"', { ...SINGLE, uploads })
    expect(message).toContain('"key"')
    expect(message).toContain('"upload-id"')
    const both = oneErrorNaming('"uploads"', { ...KEYS, uploads, 'uploads-file': 'list.json' })
    expect(both).toContain('"uploads-file"')
  })

  test('uploads-file is read through readFile and parsed the same way', () => {
    const read: string[] = []
    const settings = settingsOf({ ...KEYS, 'uploads-file': ' uploads.json ' }, {}, path => {
      read.push(path)
      return JSON.stringify([presigned('abc-def-123', 'U1')])
    })
    expect(read).toEqual(['uploads.json'])
    expect(settings.uploads).toHaveLength(1)
    expect(settings.batch).toBe(true)
  })

  test('an unreadable uploads-file is an error naming the input and the cause', () => {
    const message = oneErrorNaming('"uploads-file"', { ...KEYS, 'uploads-file': 'missing.json' })
    expect(message).toContain('missing.json')
    expect(message).toContain('ENOENT')
  })

  test('errors in uploads-file name that input', () => {
    const errors = errorsOf({ ...KEYS, 'uploads-file': 'f.json' }, {}, () => '[{"key": "k"}]')
    expect(errors.length).toBeGreaterThan(0)
    expect(errors[0]).toMatch(/^uploads-file\[0\]\.uploadId/)
    for (const error of errors) expect(error.startsWith('uploads-file[0]')).toBe(true)
  })
})

describe('secrets never appear in errors or warnings', () => {
  test('across many failing combinations', () => {
    const cases: Array<[RawInputs, Env]> = [
      [{ ...SINGLE, 'api-key': APP, 'app-key': API }, {}],
      [{ ...SINGLE, 'app-key': API }, {}],
      [{ ...SINGLE, 'api-key': `${API} x` }, {}],
      [{ ...SINGLE, 'app-key': `${APP}\u0001` }, {}],
      [
        { ...SINGLE, 'api-key': '', 'app-key': '' },
        { DD_API_KEY: `${API} `.repeat(20), DD_APP_KEY: `${APP}\n${APP}` }
      ],
      [{ ...SINGLE, 'api-key': API.repeat(9) }, {}],
      [{ ...SINGLE, 'access-token': `${TOKEN} ${API}` }, {}],
      [
        { ...NO_KEYS, 'access-token': `Bearer ${TOKEN}` },
        { DD_API_KEY: API, DD_APP_KEY: APP }
      ],
      [NO_KEYS, { DD_BEARER_TOKEN: `${TOKEN}\n${TOKEN}` }],
      [{ ...SINGLE, 'access-token': TOKEN.repeat(200) }, {}],
      [{ ...SINGLE, site: 'nowhere', 'max-retries': 'x', uploads: '[' }, {}]
    ]
    for (const [raw, env] of cases) {
      const result = parse(raw, env)
      const text = [...(result.ok ? [] : result.errors), ...result.warnings].join('\n')
      expect(result.ok).toBe(false)
      expect(text).not.toContain(API)
      expect(text).not.toContain(APP)
      expect(text).not.toContain(TOKEN)
    }
  })
})

describe('datadog-site, the name Datadog’s own actions use', () => {
  test('is taken as site, ahead of DD_SITE', () => {
    const settings = settingsOf({ ...SINGLE, 'datadog-site': 'us5.datadoghq.com' }, { DD_SITE: 'datadoghq.eu' })
    expect(settings.baseUrl).toBe('https://api.us5.datadoghq.com')
  })

  test.each([
    ['datadoghq.eu', 'EU1', 'https://api.datadoghq.eu'],
    ['datadoghq.eu', 'https://app.datadoghq.eu/', 'https://api.datadoghq.eu'],
    ['US5', 'us5.datadoghq.com', 'https://api.us5.datadoghq.com'],
    ['eu', 'api.datadoghq.eu', 'https://api.datadoghq.eu']
  ])('site %j and datadog-site %j name the same site', (site, datadogSite, baseUrl) => {
    const result = parse({ ...SINGLE, site, 'datadog-site': datadogSite })
    expect(result.ok && result.settings.baseUrl).toBe(baseUrl)
    expect(result.warnings).toEqual([])
  })

  test('agreeing with site is fine; disagreeing is an error naming both', () => {
    expect(settingsOf({ ...SINGLE, site: 'EU1', 'datadog-site': 'eu1' }).baseUrl).toBe('https://api.datadoghq.eu')
    const message = oneErrorNaming('"datadog-site"', {
      ...SINGLE,
      site: 'datadoghq.eu',
      'datadog-site': 'datadoghq.com'
    })
    expect(message).toContain('"site"')
  })
})

describe('hostile manifests', () => {
  const KEYS_ONLY: RawInputs = { 'api-key': API, 'app-key': APP, 'test-id': 'abc-def-123' }
  const pieces = (secret: string): string[] =>
    Array.from({ length: secret.length - 7 }, (_, i) => secret.slice(i, i + 8))

  test.each([
    ['a bare key', `[{"key": ${API}}]`],
    ['a key after a quote', `{"key": "x" ${APP}}`],
    ['a key as the whole input', API]
  ])('a JSON parse error quotes no piece of %s', (_, text) => {
    for (const input of ['uploads', 'uploads-file'] as const) {
      const raw = input === 'uploads' ? { ...KEYS_ONLY, uploads: text } : { ...KEYS_ONLY, 'uploads-file': 'm.json' }
      const message = oneErrorNaming(`"${input}"`, raw, {}, () => text)
      expect(message).toMatch(/is not valid JSON|holds no JSON value/)
      for (const piece of [...pieces(API), ...pieces(APP)]) expect(message).not.toContain(piece)
    }
  })

  test('16 MiB of nesting is refused in one pass, before any parsing', () => {
    const n = 8 * 1024 * 1024
    const message = oneErrorNaming(
      '"uploads-file"',
      { ...KEYS_ONLY, 'uploads-file': 'm.json' },
      {},
      () => '['.repeat(n) + ']'.repeat(n)
    )
    expect(message).toMatch(/nest more than 32 levels deep/)
    // Brackets inside strings do not count.
    const deepText = JSON.stringify([{ key: 'k1', uploadId: '['.repeat(100) }])
    expect(parse({ ...KEYS_ONLY, uploads: deepText }).ok).toBe(true)
  })

  test('a testId with a lone surrogate is an input error naming the entry', () => {
    const uploads = '[{"key": "k1", "uploadId": "u1"}, {"testId": "abc-\\ud800-123", "key": "k2", "uploadId": "u2"}]'
    const message = oneErrorNaming('uploads[1].testId', { ...KEYS_ONLY, uploads })
    expect(message).toMatch(/lone surrogate/)
  })

  test('10,000 bad entries: the first 20 listed, then one count; same for warnings', () => {
    const bad = JSON.stringify(Array.from({ length: 10_000 }, () => ({})))
    const errors = errorsOf({ ...KEYS_ONLY, uploads: bad })
    expect(errors).toHaveLength(2 * 20 + 1)
    expect(errors.at(-1)).toBe('9980 more entries of "uploads" are invalid (10000 in all), not listed one by one.')

    const otherTest = (i: number) => ({ key: `org/api-upload-file/xyz-uvw-789/f${i}.json`, uploadId: `u${i}` })
    const result = parse({ ...KEYS_ONLY, uploads: JSON.stringify(Array.from({ length: 500 }, (_, i) => otherTest(i))) })
    expect(result.warnings).toHaveLength(21)
    expect(result.warnings.at(-1)).toMatch(/^480 more entries of "uploads" have warnings \(500 in all\)/)
  })
})

describe('hidden characters in a value are shown escaped, never raw', () => {
  // A bidi override makes a line read other than it is; the others are
  // line breaks some log viewers honour, or invisible.
  const HIDDEN = /[\u0085\u009b\u200b\u202e\u2028\u2029]/
  const KEYS_ONLY: RawInputs = { 'api-key': API, 'app-key': APP, 'test-id': 'abc-def-123' }
  const file = (text: string) => () => text

  test.each<[string, string, RawInputs, Env?, ((path: string) => string)?]>([
    ['timeout', 'Input "timeout"', { ...SINGLE, timeout: '1\u202e0' }],
    ['max-retries', 'Input "max-retries"', { ...SINGLE, 'max-retries': '2\u20283' }],
    ['concurrency', 'Input "concurrency"', { ...SINGLE, concurrency: '4\u200b' }],
    ['ignore-not-found', 'Input "ignore-not-found"', { ...SINGLE, 'ignore-not-found': 'tr\u202eue' }],
    ['dry-run', 'Input "dry-run"', { ...SINGLE, 'dry-run': 'true\u0085' }],
    ['site', 'Input "site"', { ...SINGLE, site: 'datadoghq\u202e.eu' }],
    ['datadog-site', 'Input "datadog-site"', { ...SINGLE, 'datadog-site': 'eu\u2029x' }],
    ['DD_SITE', 'The DD_SITE environment variable', SINGLE, { DD_SITE: 'us\u009b5' }],
    ['test-id', 'Input "test-id"', { ...SINGLE, 'test-id': 'abc\u202e-def-123' }],
    ['the uploads-file path', 'Input "uploads-file"', { ...KEYS_ONLY, 'uploads-file': 'up\u202eloads\u2028.json' }],
    [
      "a manifest entry's testId",
      'uploads[0].testId',
      { ...KEYS_ONLY, uploads: JSON.stringify([{ testId: 'abc-def\u202e-123', key: 'k', uploadId: 'u' }]) }
    ],
    ['a manifest value that is not JSON', 'Input "uploads"', { ...KEYS_ONLY, uploads: '[tr\u202eue]' }],
    [
      "an error answer's messages",
      'uploads-file value 1',
      { ...KEYS_ONLY, 'uploads-file': 'm.json' },
      {},
      file('{"errors":["Forbidden\u202e\u2028"]} {"key":"k","uploadId":"u"}')
    ],
    [
      'the end of a value cut off',
      'Input "uploads-file": value 2',
      { ...KEYS_ONLY, 'uploads-file': 'm.json' },
      {},
      file('{"key":"k","uploadId":"u"} {"key":"k2","upload\u202e\u2028')
    ],
    [
      'text between values',
      'Input "uploads-file" holds text',
      { ...KEYS_ONLY, 'uploads-file': 'm.json' },
      {},
      file('{"key":"k","uploadId":"u"}\nerror\u202e\u2028page\n')
    ]
  ])('%s', (_, name, raw, env = {}, readFile = noFile) => {
    const result = parse(raw, env, readFile)
    const said = [...(result.ok ? [] : result.errors), ...result.warnings]
    expect(said.filter(message => message.includes(name))).toHaveLength(1)
    for (const message of said) expect(message).not.toMatch(HIDDEN)
  })

  test('the quote shows the hidden character as its escape', () => {
    const message = oneErrorNaming('"timeout"', { ...SINGLE, timeout: '1\u202e0' })
    expect(message).toBe('Input "timeout" must be a number from 1 to 3600, not "1\\u202e0".')
    const path = oneErrorNaming('"uploads-file"', { ...KEYS_ONLY, 'uploads-file': 'up\u202eloads\u2028.json' })
    expect(path).toContain('cannot read "up\\u202eloads\\u2028.json": no such file')
  })
})
