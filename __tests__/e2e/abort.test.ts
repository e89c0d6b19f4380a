// A bundle of the current src/, run as a runner runs it, against the local emulator.
import { execFileSync } from 'node:child_process'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { EmulatorClient, putPart } from '../../emulator/client.ts'
import { DEFAULT_KEYS, DEFAULT_TOKEN, startEmulator, type Emulator } from '../../emulator/server.ts'
import {
  annotations,
  emulatorInputs,
  leakedSecrets,
  NODE24,
  runAction,
  tokenInputs,
  type RunResult
} from '../support/runner.ts'

const KEYS = [DEFAULT_KEYS.apiKey, DEFAULT_KEYS.appKey]
const TOKEN = DEFAULT_TOKEN.token
/** The credentials a run is given, the secrets it masks, and the headers they go in. */
const CREDENTIALS = {
  keys: { extra: {}, secrets: KEYS, headers: { 'dd-api-key': KEYS[0], 'dd-application-key': KEYS[1] } },
  'an access token': { extra: tokenInputs(), secrets: [TOKEN], headers: { authorization: `Bearer ${TOKEN}` } }
}
const AUTH_HEADER = /^(dd-|authorization$)/
let emulator: Emulator

beforeAll(async () => {
  emulator = await startEmulator()
})
afterAll(async () => {
  await emulator.close()
})

function inputs(upload: { key: string; uploadId: string }, extra: Record<string, string> = {}): Record<string, string> {
  return emulatorInputs(emulator.url, upload, extra)
}

/** Starts a real upload through the emulator's HTTP API and uploads one part. */
async function startRealUpload(testId = 'abc-def-123'): Promise<{ key: string; uploadId: string; etag: string }> {
  const part = 'x'.repeat(1000)
  const params = (await new EmulatorClient(emulator.url).start(testId, [part])).multipart_presigned_urls_params
  const etag = await putPart(params.urls['1'] as string, part)
  return { key: params.key, uploadId: params.upload_id, etag }
}

function expectNoLeak(result: RunResult): void {
  expect(leakedSecrets(result, [...KEYS, TOKEN])).toEqual([])
}

/** The credential headers a recorded request carried. */
function authHeaders(headers: IncomingHttpHeaders): Record<string, unknown> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => AUTH_HEADER.test(name)))
}

function expectNoInjectedCommand(result: RunResult): void {
  const allowed = /^::(add-mask|error|warning|notice|debug|set-output)[ :]/
  for (const line of result.commands) expect(line).toMatch(allowed)
  expect(result.stdout).not.toMatch(/^::(error|warning)::injected/m)
  expect(result.stdout.match(/^::add-mask::.*$/gm)?.sort()).toEqual(KEYS.map(k => `::add-mask::${k}`).sort())
  expect(result.stdout).not.toMatch(/^::stop-commands::/m)
}

test('the end-to-end tests run the bundle on Node 24, the runtime of runs.using: node24', () => {
  expect(execFileSync(NODE24, ['--version'], { encoding: 'utf8' })).toMatch(/^v24\./)
})

test.each(Object.entries(CREDENTIALS))(
  'with %s: aborts a real upload: storage freed, outputs, one log line, summary, no secret anywhere',
  async (_, credentials) => {
    const upload = await startRealUpload()
    expect(emulator.storedBytes(upload.uploadId)).toBe(1000)
    const before = emulator.abortRequests().length

    const result = await runAction({ inputs: inputs(upload, credentials.extra) })

    expect(result.code).toBe(0)
    expect(emulator.uploadState(upload.uploadId)).toBe('aborted')
    expect(emulator.storedBytes(upload.uploadId)).toBe(0)
    expect(result.outputs).toMatchObject({ status: '204', aborted: 'true', errors: '[]', attempts: '1' })
    expect(result.stdout).toMatch(
      new RegExp(
        `^Aborted upload ${upload.uploadId} of test abc-def-123 on 127\\.0\\.0\\.1:\\d+ \\(204, 1 attempt, \\d+ ms\\)\\.$`,
        'm'
      )
    )
    expect(result.summary).toContain('abc-def-123')
    expect(result.summary).toContain('aborted')
    expect(result.commands.filter(c => c.startsWith('::add-mask::')).sort()).toEqual(
      credentials.secrets.map(k => `::add-mask::${k}`).sort()
    )
    expect(result.stdout.indexOf('::add-mask::')).toBe(0)

    const sent = emulator.abortRequests().slice(before)
    expect(sent).toHaveLength(1)
    const request = sent[0] as { path: string; body: string; headers: IncomingHttpHeaders }
    expect(request.path).toBe('/api/v2/synthetics/tests/abc-def-123/files/multipart-upload-abort')
    expect(request.body).toBe(JSON.stringify({ key: upload.key, uploadId: upload.uploadId }))
    expect(request.headers['content-type']).toBe('application/json')
    expect(request.headers['accept']).toBe('application/json')
    expect(request.headers['user-agent']).toMatch(/^datadog-synthetics-abort-upload-action\/\d+\.\d+\.\d+ \(node v24\./)
    expect(authHeaders(request.headers)).toEqual(credentials.headers)
    expect(annotations(result, 'warning')).toEqual([])
    expectNoLeak(result)
  }
)

test('a token and keys together: the token alone is sent, and a warning names the key inputs left unused', async () => {
  const upload = emulator.startUpload('abc-def-123')
  const before = emulator.abortRequests().length
  const result = await runAction({
    inputs: inputs(upload, { 'access-token': TOKEN }),
    env: { DD_API_KEY: 'e'.repeat(32), DD_APP_KEY: 'f'.repeat(40) }
  })
  expect(result.code).toBe(0)
  expect(emulator.uploadState(upload.uploadId)).toBe('aborted')
  const sent = emulator.abortRequests().slice(before)
  expect(sent.map(r => authHeaders(r.headers))).toEqual([{ authorization: `Bearer ${TOKEN}` }])
  expect(annotations(result, 'warning')).toEqual([
    expect.stringMatching(/^Input "access-token" gives an access token, .*"api-key" and "app-key" are left unused/)
  ])
  // Every credential the step could see is masked, the unused ones too.
  const masked = result.commands.filter(c => c.startsWith('::add-mask::')).map(c => c.slice('::add-mask::'.length))
  expect(masked.sort()).toEqual([...KEYS, TOKEN, 'e'.repeat(32), 'f'.repeat(40)].sort())
  expectNoLeak(result)
})

test('credentials and site come from DD_API_KEY, DD_APP_KEY, DD_BEARER_TOKEN and DD_SITE when the inputs are empty', async () => {
  const upload = await startRealUpload()
  const viaEnv = await runAction({
    inputs: { ...inputs(upload), 'api-key': '', 'app-key': '' },
    env: { DD_API_KEY: DEFAULT_KEYS.apiKey, DD_APP_KEY: DEFAULT_KEYS.appKey }
  })
  expect(viaEnv.code).toBe(0)
  expect(emulator.uploadState(upload.uploadId)).toBe('aborted')
  expectNoLeak(viaEnv)

  // A token in the environment is used before keys there, without a word.
  const other = emulator.startUpload('abc-def-123')
  const before = emulator.abortRequests().length
  const viaToken = await runAction({
    inputs: { ...inputs(other), 'api-key': '', 'app-key': '' },
    env: { DD_BEARER_TOKEN: TOKEN, DD_API_KEY: DEFAULT_KEYS.apiKey, DD_APP_KEY: DEFAULT_KEYS.appKey }
  })
  expect(viaToken.code).toBe(0)
  expect(emulator.uploadState(other.uploadId)).toBe('aborted')
  expect(
    emulator
      .abortRequests()
      .slice(before)
      .map(r => authHeaders(r.headers))
  ).toEqual([{ authorization: `Bearer ${TOKEN}` }])
  expect(annotations(viaToken, 'warning')).toEqual([])
  expectNoLeak(viaToken)

  // DD_SITE is only checked with a dry run: no test talks to Datadog.
  const { 'api-url': _, ...rest } = inputs(upload)
  const site = await runAction({ inputs: { ...rest, 'dry-run': 'true' }, env: { DD_SITE: 'app.datadoghq.eu' } })
  expect(site.code).toBe(0)
  expect(site.stdout).toContain(
    'https://api.datadoghq.eu/api/v2/synthetics/tests/abc-def-123/files/multipart-upload-abort'
  )
  expect(site.outputs['dry-run']).toBe('true')
  expectNoLeak(site)

  const alias = await runAction({ inputs: { ...rest, 'dry-run': 'true', 'datadog-site': 'AP1' } })
  expect(alias.code).toBe(0)
  expect(alias.stdout).toContain('https://api.ap1.datadoghq.com/api/v2/synthetics/tests/abc-def-123/')
})

test('a short region name, and site with datadog-site spelling the same site two ways, are accepted', async () => {
  const { 'api-url': _, ...rest } = inputs({ key: 'org-1/api-upload-file/abc-def-123/f.json', uploadId: 'u-1' })
  const result = await runAction({
    inputs: { ...rest, 'dry-run': 'true', site: 'eu', 'datadog-site': 'https://app.datadoghq.eu/' }
  })
  expect(result.code).toBe(0)
  expect(result.stdout).toContain('https://api.datadoghq.eu/api/v2/synthetics/tests/abc-def-123/')
  expect(annotations(result, 'warning')).toEqual([])
})

test('works without GITHUB_OUTPUT and GITHUB_STEP_SUMMARY, as on a developer machine', async () => {
  const upload = await startRealUpload()
  const result = await runAction({ inputs: inputs(upload), bareEnvironment: true })
  expect(result.code).toBe(0)
  expect(result.outputs['aborted']).toBe('true')
  expectNoLeak(result)
})

describe('Datadog refuses', () => {
  test('403 for a wrong key pair: the answer in the failure line, hint on keys, site and permission', async () => {
    const upload = await startRealUpload()
    const result = await runAction({ inputs: inputs(upload, { 'app-key': 'f'.repeat(40) }) })
    expect(result.code).toBe(1)
    expect(emulator.uploadState(upload.uploadId)).toBe('open')
    const failure = annotations(result, 'error').at(-1) ?? ''
    expect(failure).toContain('403 Forbidden')
    expect(failure).toContain('abc-def-123')
    expect(failure).toContain(upload.uploadId)
    expect(failure).toMatch(/synthetics_write or the synthetics_create_edit_trigger permission/)
    expect(result.outputs).toMatchObject({ status: '403', aborted: 'false', errors: '["Forbidden"]' })
    expectNoLeak(result)
    expect(leakedSecrets(result, ['f'.repeat(40)])).toEqual([])
  })

  const LIMITED_KEYS = { apiKey: 'a1'.repeat(16), appKey: 'b2'.repeat(20), permissions: ['synthetics_read'] }
  const UNSCOPED = { token: 'ddpat_QGgpFKsoqkO3g70XoSnBb578nrHQ56SR', scopes: ['synthetics_read'] }
  const EXPIRED = {
    token: 'ddpat_cs5eRkHGUtTH4jkyB4VA8Cn66hkFvA5m',
    scopes: ['synthetics_write'],
    expiresAt: Date.now()
  }
  test.each<[string, Record<string, string>, string[], RegExp]>([
    [
      'a key pair without synthetics_write',
      { 'api-key': LIMITED_KEYS.apiKey, 'app-key': LIMITED_KEYS.appKey },
      [LIMITED_KEYS.apiKey, LIMITED_KEYS.appKey],
      /403 Forbidden\. Datadog said: Failed permission authorization checks\. .*the application key has the synthetics_write or the synthetics_create_edit_trigger permission/
    ],
    [
      'an access token without the synthetics_write scope',
      tokenInputs(UNSCOPED.token),
      [UNSCOPED.token],
      /403 Forbidden\. Datadog said: Failed permission authorization checks\. Check that the access token has the synthetics_write scope, that it has not expired.*acts with its user's permissions/
    ],
    [
      'an expired access token',
      tokenInputs(EXPIRED.token),
      [EXPIRED.token],
      /401 Unauthorized\. Check that the access token has the synthetics_write scope, that it has not expired/
    ]
  ])('refused for %s: the step names what to check, and no secret', async (_, credentials, secrets, failure) => {
    const limited = await startEmulator({ keyPairs: [LIMITED_KEYS], accessTokens: [UNSCOPED, EXPIRED] })
    try {
      const upload = limited.startUpload('abc-def-123')
      const result = await runAction({
        inputs: { ...emulatorInputs(limited.url, upload), ...credentials }
      })
      expect(result.code).toBe(1)
      expect(annotations(result, 'error')).toEqual([expect.stringMatching(failure)])
      expect(result.outputs['attempts']).toBe('1')
      expect(limited.uploadState(upload.uploadId)).toBe('open')
      expect(leakedSecrets(result, secrets)).toEqual([])
    } finally {
      await limited.close()
    }
  })

  test('400: what Datadog refused is annotated and the hint names the fields', async () => {
    const upload = await startRealUpload()
    emulator.setFaults([{ kind: 'status', status: 400, body: '{"errors":["Invalid uploadId format"]}' }])
    const result = await runAction({ inputs: inputs(upload) })
    expect(result.code).toBe(1)
    expect(annotations(result, 'error')).toEqual([
      expect.stringMatching(/400 Bad Request.*Datadog said: Invalid uploadId format.*"key" and "upload-id"/)
    ])
    expect(result.outputs['attempts']).toBe('1')
  })

  test('404 for an unknown upload fails, naming ignore-not-found', async () => {
    const result = await runAction({
      inputs: inputs({ key: 'org-1/api-upload-file/abc-def-123/f.json', uploadId: 'nope' })
    })
    expect(result.code).toBe(1)
    expect(result.outputs).toMatchObject({ status: '404', aborted: 'false' })
    // One annotation: the failure line, carrying what Datadog said.
    const errors = annotations(result, 'error')
    expect(errors).toHaveLength(1)
    expect(result.stdout.split('\n').filter(line => line.startsWith('::error'))).toHaveLength(1)
    expect(errors[0]).toMatch(/404 Not Found.*Datadog said: .+\..*ignore-not-found: true/)
  })

  test('the bucketKey given as key: a warning before the request, and the 404 hint names the mistake', async () => {
    const upload = emulator.startUpload('abc-def-123')
    const result = await runAction({ inputs: inputs({ key: upload.bucketKey, uploadId: upload.uploadId }) })
    expect(result.code).toBe(1)
    expect(emulator.uploadState(upload.uploadId)).toBe('open')
    const warning = result.commands.findIndex(c => /^::warning.*looks like the bucketKey/.test(c))
    const error = result.commands.findIndex(c => c.startsWith('::error'))
    expect(warning).toBeGreaterThanOrEqual(0)
    expect(warning).toBeLessThan(error)
    expect(annotations(result, 'error').at(-1)).toMatch(
      /404 Not Found.*the key is multipart_presigned_urls_params\.key \(the full storage path\), not the bucketKey/
    )
  })

  test('404 with ignore-not-found succeeds with a warning', async () => {
    const result = await runAction({
      inputs: inputs(
        { key: 'org-1/api-upload-file/abc-def-123/f.json', uploadId: 'nope' },
        { 'ignore-not-found': 'true' }
      )
    })
    expect(result.code).toBe(0)
    expect(result.outputs).toMatchObject({
      status: '404',
      aborted: 'false',
      'not-found-count': '1',
      'failed-count': '0'
    })
    expect(annotations(result, 'warning').join('\n')).toMatch(/not found \(404\)/)
  })

  test('abort after complete: 404', async () => {
    const upload = await startRealUpload()
    const complete = await new EmulatorClient(emulator.url).complete('abc-def-123', upload, [upload.etag])
    expect(complete.status).toBe(204)
    const result = await runAction({ inputs: inputs(upload) })
    expect(result.code).toBe(1)
    expect(result.outputs['status']).toBe('404')
    expect(emulator.uploadState(upload.uploadId)).toBe('completed')
  })

  test('abort twice: the second run gets 404, and succeeds with ignore-not-found', async () => {
    const upload = emulator.startUpload('abc-def-123')
    expect((await runAction({ inputs: inputs(upload) })).code).toBe(0)
    const again = await runAction({ inputs: inputs(upload) })
    expect(again.code).toBe(1)
    expect(again.outputs['status']).toBe('404')
    const tolerant = await runAction({ inputs: inputs(upload, { 'ignore-not-found': 'true' }) })
    expect(tolerant.code).toBe(0)
  })

  test("an upload of another test: 404, and the key's test is named in a warning", async () => {
    const upload = emulator.startUpload('xyz-uvw-789')
    const result = await runAction({ inputs: inputs(upload, { 'test-id': 'abc-def-123' }) })
    expect(result.code).toBe(1)
    expect(result.outputs['status']).toBe('404')
    expect(annotations(result, 'warning').join('\n')).toContain('belongs to test xyz-uvw-789')
    expect(emulator.uploadState(upload.uploadId)).toBe('open')
  })

  test('a hostile error body cannot start a workflow command', async () => {
    const upload = emulator.startUpload('abc-def-123')
    const hostile = {
      errors: [
        'first\n::error::injected',
        'second\r\n::add-mask::hijack',
        '%0A::warning::injected',
        '\u001b[31mred\u2028::stop-commands::x'
      ]
    }
    emulator.setFaults([{ kind: 'status', status: 400, body: JSON.stringify(hostile) }])
    const result = await runAction({ inputs: inputs(upload) })
    expect(result.code).toBe(1)
    expectNoInjectedCommand(result)
    expect(annotations(result, 'error').at(-1)).toContain('first ::error::injected')
    expect(JSON.parse(result.outputs['errors'] ?? '[]')).toHaveLength(4)
    for (const line of result.summary.split('\n')) expect(line).not.toMatch(/^::/)
  })

  test('an error body that echoes the key is redacted', async () => {
    const upload = emulator.startUpload('abc-def-123')
    emulator.setFaults([
      { kind: 'status', status: 403, body: JSON.stringify({ errors: [`bad key ${DEFAULT_KEYS.apiKey}`] }) }
    ])
    const result = await runAction({ inputs: inputs(upload) })
    expect(result.code).toBe(1)
    expect(annotations(result, 'error').at(-1)).toContain('Datadog said: bad key ***.')
    expectNoLeak(result)
  })
})

describe('redirects are never followed', () => {
  let target: Server
  let seen: IncomingHttpHeaders[] = []
  beforeAll(async () => {
    target = createServer((req, res) => {
      seen.push(req.headers)
      res.writeHead(204).end()
    })
    await new Promise<void>(done => target.listen(0, '127.0.0.1', done))
  })
  afterAll(async () => {
    target.closeAllConnections()
    await new Promise(done => target.close(done))
  })

  test.each([
    [301, 'keys'],
    [302, 'keys'],
    [307, 'keys'],
    [308, 'keys'],
    [302, 'an access token'],
    [307, 'an access token']
  ] as const)('%i to another host, with %s: fails, says where, and no credential reaches it', async (status, kind) => {
    seen = []
    const upload = emulator.startUpload('abc-def-123')
    const port = (target.address() as AddressInfo).port
    emulator.setFaults([{ kind: 'redirect', status, location: `http://localhost:${port}/steal?x=1` }])
    const result = await runAction({ inputs: inputs(upload, CREDENTIALS[kind].extra) })
    expect(result.code).toBe(1)
    expect(seen).toEqual([])
    expect(annotations(result, 'error').at(-1)).toContain(`to http://localhost:${port}/steal`)
    expect(result.outputs['status']).toBe(String(status))
    expect(JSON.parse(result.outputs['errors'] ?? '[]')).toEqual([
      expect.stringContaining(`to http://localhost:${port}/steal`)
    ])
    expect(emulator.uploadState(upload.uploadId)).toBe('open')
    expectNoLeak(result)
  })
})

describe('bad inputs fail before any request', () => {
  const upload = { key: 'org-1/api-upload-file/abc-def-123/f.json', uploadId: 'u-1' }
  test.each<[string, Record<string, string>, RegExp]>([
    ['empty upload-id (a missing step output)', { 'upload-id': '' }, /Input "upload-id" is empty.*step output/],
    ['empty key', { key: '  ' }, /Input "key" is empty/],
    ['a test-id with a slash', { 'test-id': 'abc/../def' }, /Input "test-id" is "abc\/..\/def", which is not a test/],
    ['a test-id with a query', { 'test-id': 'abc-def-123?x=1' }, /Input "test-id"/],
    [
      'an empty test-id and a key that names no test',
      { 'test-id': '', key: 'custom/f.json' },
      /Input "test-id" is empty and the key does not name a test/
    ],
    [
      'a test-id that is not a public ID',
      { 'test-id': 'abc_def_123' },
      /three groups of three lower-case letters or digits, like abc-def-123.*The key names test abc-def-123; did you mean that\?/
    ],
    ['an unknown site', { 'api-url': '', site: 'datadoghq.co' }, /Input "site".*Did you mean "datadoghq.com"/],
    [
      'a plain-http api-url to a remote host',
      { 'api-url': 'http://api.datadoghq.com' },
      /Input "api-url" must start with https:\/\//
    ],
    ['a key with a line break', { key: 'a\nb' }, /Input "key" contains control characters/],
    ['a missing api-key', { 'api-key': '' }, /Input "api-key" is empty and DD_API_KEY is not set/],
    [
      'no credential at all',
      { 'api-key': '', 'app-key': '' },
      /No Datadog credentials: give "api-key" and "app-key" .*or "access-token" .*DD_BEARER_TOKEN/
    ],
    [
      'an access token pasted with its "Bearer "',
      tokenInputs(`Bearer ${TOKEN}`),
      /Input "access-token" contains white space.*without "Bearer "/
    ],
    ['an access token of a few characters', tokenInputs('ddpat_x'), /Input "access-token" is 7 characters long/],
    ['swapped keys', { 'api-key': DEFAULT_KEYS.appKey, 'app-key': DEFAULT_KEYS.apiKey }, /seem swapped/],
    ['a bad timeout', { timeout: '0' }, /Input "timeout" must be a number from 1 to 3600/],
    ['a bad boolean', { 'ignore-not-found': 'maybe' }, /Input "ignore-not-found" must be true or false/],
    [
      'a key with non-ASCII characters',
      { 'api-key': 'ключ'.repeat(8) },
      /Input "api-key" contains white space, control or non-ASCII characters/
    ],
    ['a test-id of "."', { 'test-id': '.' }, /Input "test-id" is ".", which is not a test public ID/],
    [
      'a key with a bidi override',
      { key: 'org-1/api-upload-file/abc-def-123/\u202egpj.exe' },
      /Input "key" contains control characters/
    ]
  ])('%s', async (_name, bad, message) => {
    const before = emulator.requests.length
    const result = await runAction({ inputs: inputs(upload, bad) })
    expect(result.code).toBe(1)
    expect(emulator.requests.length).toBe(before)
    expect(annotations(result, 'error').join('\n')).toMatch(message)
    expect(annotations(result, 'error').at(-1)).toMatch(/no request was sent/)
    expect(result.summary).toContain('Invalid inputs: no request was sent.')
    expect(result.stderr).not.toMatch(/\n\s+at /)
    expectNoLeak(result)
  })

  test('a public ID typed in capitals is the same test', async () => {
    const real = emulator.startUpload('abc-def-123')
    const result = await runAction({ inputs: inputs(real, { 'test-id': 'ABC-DEF-123' }) })
    expect(result.code).toBe(0)
    expect(emulator.uploadState(real.uploadId)).toBe('aborted')
  })

  test('an empty test-id is taken from the key, with no warning', async () => {
    const real = emulator.startUpload('abc-def-123')
    const result = await runAction({ inputs: inputs(real, { 'test-id': '' }) })
    expect(result.code).toBe(0)
    expect(emulator.uploadState(real.uploadId)).toBe('aborted')
    expect(annotations(result, 'warning')).toEqual([])
  })

  test('a pasted test URL is taken for its public ID', async () => {
    const real = emulator.startUpload('abc-def-123')
    const result = await runAction({
      inputs: inputs(real, { 'test-id': 'https://app.datadoghq.com/synthetics/details/abc-def-123?from_ts=1' })
    })
    expect(result.code).toBe(0)
    expect(emulator.uploadState(real.uploadId)).toBe('aborted')
  })
})
