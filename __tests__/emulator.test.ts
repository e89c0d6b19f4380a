import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { EmulatorClient, md5Base64, putPart, type CallOptions } from '../emulator/client.ts'
import {
  DEFAULT_KEYS,
  DEFAULT_TOKEN,
  startEmulator,
  type AccessToken,
  type Emulator,
  type KeyPair
} from '../emulator/server.ts'

const TEST = 'abc-def-123'
const OTHER_TEST = 'xyz-uvw-789'
const READ_ONLY: KeyPair = { apiKey: 'a'.repeat(32), appKey: 'b'.repeat(40), permissions: ['synthetics_read'] }
const WRITE_ONLY: KeyPair = { apiKey: 'e'.repeat(32), appKey: 'f'.repeat(40), permissions: ['synthetics_write'] }
const TRIGGER: KeyPair = {
  apiKey: 'c'.repeat(32),
  appKey: 'd'.repeat(40),
  permissions: ['synthetics_create_edit_trigger']
}

const READ_TOKEN: AccessToken = { token: 'ddpat_QGgpFKsoqkO3g70XoSnBb578nrHQ56SR', scopes: ['synthetics_read'] }
const EXPIRED_TOKEN: AccessToken = {
  token: 'ddpat_cs5eRkHGUtTH4jkyB4VA8Cn66hkFvA5m',
  scopes: ['synthetics_write'],
  expiresAt: Date.now() - 1000
}

let emu: Emulator
let api: EmulatorClient

beforeAll(async () => {
  emu = await startEmulator({
    keyPairs: [DEFAULT_KEYS, READ_ONLY, WRITE_ONLY, TRIGGER],
    accessTokens: [DEFAULT_TOKEN, READ_TOKEN, EXPIRED_TOKEN]
  })
  api = new EmulatorClient(emu.url)
})
afterAll(async () => {
  await emu.close()
})
afterEach(() => {
  emu.setFaults([])
  emu.setRateLimit(undefined)
  emu.setLatency(0)
  emu.setStorage('s3')
})

const abort = (
  upload: { key: string; uploadId: string },
  opts: CallOptions = {},
  testId = TEST,
  target: { url: string } = emu
) => new EmulatorClient(target.url).abort(testId, upload, opts)

async function withPart(testId = TEST) {
  const upload = emu.startUpload(testId)
  await putPart(upload.urls['1'] ?? '', 'part one bytes')
  return upload
}

async function errorsOf(res: Response): Promise<string[]> {
  expect(res.headers.get('content-type')).toBe('application/json')
  return ((await res.json()) as { errors: string[] }).errors
}

describe('multipart flow', () => {
  test('start, PUT parts, complete, download', async () => {
    const parts = [Buffer.from('{"hello":'), Buffer.from('"world"}')]
    const started = await api.start(TEST, parts)
    const { key, upload_id: uploadId, urls } = started.multipart_presigned_urls_params
    expect(key).toMatch(/^org-1\/api-upload-file\/abc-def-123\/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d_[0-9a-f-]{36}\.json$/)
    expect(key.endsWith(started.bucketKey)).toBe(true)
    expect(emu.uploadState(uploadId)).toBe('open')

    const etags: string[] = []
    for (const [i, part] of parts.entries()) {
      const etag = await putPart(urls[String(i + 1)] ?? '', part)
      expect(etag).toBe(`"${createHash('md5').update(part).digest('hex')}"`)
      etags.push(etag)
    }
    expect(emu.storedBytes(uploadId)).toBe(parts[0]!.length + parts[1]!.length)

    const complete = await api.complete(TEST, { key, uploadId }, etags)
    expect(complete.status).toBe(204)
    expect(emu.uploadState(uploadId)).toBe('completed')

    const download = await api.call(TEST, 'download', { bucketKey: started.bucketKey })
    expect(download.status).toBe(200)
    const { url } = (await download.json()) as { url: string }
    expect(await (await fetch(url)).text()).toBe('{"hello":"world"}')
  })

  test('downloading a file needs synthetics_read, which a write permission does not include', async () => {
    const upload = emu.startUpload(TEST)
    const etag = await putPart(upload.urls['1'] ?? '', 'file')
    expect((await api.complete(TEST, upload, [etag])).status).toBe(204)
    const download = (keys: KeyPair) => api.call(TEST, 'download', { bucketKey: upload.bucketKey }, { keys })
    const denied = await download(WRITE_ONLY)
    expect(denied.status).toBe(403)
    expect(await errorsOf(denied)).toEqual(['Forbidden', 'Failed permission authorization checks'])
    expect((await download(READ_ONLY)).status).toBe(200)
  })

  test.each([
    ['padded, 24 characters', md5Base64('part'), 200],
    ['unpadded, 22 characters', md5Base64('part').replace(/=+$/, ''), 200],
    ['hex, 32 characters', createHash('md5').update('part').digest('hex'), 400],
    ['too short', 'AA==', 400],
    ['too long', `${md5Base64('part')}A`, 400],
    ['not base64', '!'.repeat(22), 400]
  ])('a part md5 that is %s gives %d', async (_label, md5, status) => {
    const res = await api.call(TEST, 'multipart-presigned-urls', {
      bucketKeyPrefix: 'api-upload-file',
      parts: [{ md5, partNumber: 1 }]
    })
    expect(res.status).toBe(status)
    if (status === 400) expect((await errorsOf(res))[0]).toMatch(/'md5'.*22 to 24 characters/)
  })

  test('abort frees the stored parts and closes the upload', async () => {
    const upload = await withPart()
    expect(emu.storedBytes(upload.uploadId)).toBeGreaterThan(0)
    const open = emu.openUploads()
    const res = await abort(upload)
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    expect(emu.uploadState(upload.uploadId)).toBe('aborted')
    expect(emu.storedBytes(upload.uploadId)).toBe(0)
    expect(emu.openUploads()).toBe(open - 1)
    const late = await fetch(upload.urls['1'] ?? '', { method: 'PUT', body: 'x' })
    expect(late.status).toBe(404)
  })

  test('presigned PUT needs the signature it was issued with', async () => {
    const upload = emu.startUpload(TEST)
    const forged = (upload.urls['1'] ?? '').replace(/X-Signature=\w+/, 'X-Signature=00')
    expect((await fetch(forged, { method: 'PUT', body: 'x' })).status).toBe(403)
    expect(emu.storedBytes(upload.uploadId)).toBe(0)
  })

  test('admin endpoints report upload state and stats', async () => {
    const upload = await withPart()
    expect(await api.uploadState(upload.uploadId)).toEqual({ state: 'open', storedBytes: 14 })
    expect(await api.uploadState('nope')).toBeUndefined()
    const stats = (await (await fetch(`${emu.url}/_emulator/stats`)).json()) as Record<string, number>
    expect(stats.requests).toBe(emu.requests.length)
    expect(Object.keys(stats).sort()).toEqual(['aborts', 'maxConcurrent', 'rateLimited', 'requests'])
  })

  test('records abort requests with their headers and body', async () => {
    const upload = emu.startUpload(TEST, 1, 'browser-upload-file-step')
    expect(upload.key).toContain('/browser-upload-file-step/abc-def-123/')
    const before = emu.abortRequests().length
    await abort(upload)
    const recorded = emu.abortRequests()
    expect(recorded).toHaveLength(before + 1)
    const last = recorded.at(-1)!
    expect(JSON.parse(last.body)).toEqual({ key: upload.key, uploadId: upload.uploadId })
    expect(last.headers['dd-api-key']).toBe(DEFAULT_KEYS.apiKey)
  })
})

describe('storage behind the presigned URLs', () => {
  const put = (url: string, body: string, headers: Record<string, string> = {}) =>
    fetch(url, { method: 'PUT', body, headers })

  test('Azure-style: a part answers 201 without an ETag; complete takes empty ETags; the file reads back', async () => {
    emu.setStorage('azure')
    const started = await api.start(TEST, ['{"a":', '1}'])
    const { key, upload_id: uploadId, urls } = started.multipart_presigned_urls_params
    // Still on the emulator's own address, so tests never leave 127.0.0.1.
    expect(urls['1']).toMatch(new RegExp(`^${emu.url}/_azure/`))
    for (const [n, body] of [
      ['1', '{"a":'],
      ['2', '1}']
    ] as const) {
      const res = await put(urls[n] ?? '', body, { 'Content-MD5': md5Base64(body) })
      expect([res.status, res.headers.get('etag'), await res.text()]).toEqual([201, null, ''])
    }
    expect((await api.complete(TEST, { key, uploadId }, ['', ''])).status).toBe(204)
    const download = await api.call(TEST, 'download', { bucketKey: started.bucketKey })
    expect(await (await fetch(((await download.json()) as { url: string }).url)).text()).toBe('{"a":1}')
  })

  test('S3-style stays the default: 200 with the ETag, and an empty ETag does not complete', async () => {
    const upload = emu.startUpload(TEST)
    const res = await put(upload.urls['1'] ?? '', 'bytes')
    expect([res.status, res.headers.get('etag')]).toEqual([200, `"${createHash('md5').update('bytes').digest('hex')}"`])
    expect((await api.complete(TEST, upload, [''])).status).toBe(400)
    expect(emu.uploadState(upload.uploadId)).toBe('open')
  })

  test.each([
    ['s3', md5Base64('other'), 'BadDigest'],
    ['s3', createHash('md5').update('part').digest('hex'), 'InvalidDigest'],
    ['azure', md5Base64('other'), 'Md5Mismatch'],
    ['azure', 'AAA=', 'InvalidMd5']
  ] as const)('%s-style: a part with Content-MD5 %s is refused with 400 %s and not stored', async (kind, md5, code) => {
    emu.setStorage(kind)
    const upload = emu.startUpload(TEST)
    const res = await put(upload.urls['1'] ?? '', 'part', { 'Content-MD5': md5 })
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toBe('application/xml')
    expect(await res.text()).toMatch(new RegExp(`^<Error><Code>${code}</Code><Message>[^<]{1,100}</Message></Error>$`))
    expect(emu.storedBytes(upload.uploadId)).toBe(0)
  })

  test('an Azure-style URL needs the signature it was issued with', async () => {
    emu.setStorage('azure')
    const upload = emu.startUpload(TEST)
    const forged = (upload.urls['1'] ?? '').replace(/sig=\w+/, 'sig=00')
    const res = await put(forged, 'x')
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('AuthenticationFailed')
    expect(emu.storedBytes(upload.uploadId)).toBe(0)
  })

  test("a 10 MiB part, Datadog's uploaders' size, is taken", async () => {
    const upload = emu.startUpload(TEST)
    const res = await fetch(upload.urls['1'] ?? '', { method: 'PUT', body: Buffer.alloc(10 * 1024 * 1024, 'x') })
    expect(res.status).toBe(200)
    expect(emu.storedBytes(upload.uploadId)).toBe(10 * 1024 * 1024)
  })
})

describe('abort errors', () => {
  test('abort twice gives 404', async () => {
    const upload = emu.startUpload(TEST)
    expect((await abort(upload)).status).toBe(204)
    const again = await abort(upload)
    expect(again.status).toBe(404)
    expect((await errorsOf(again))[0]).toMatch(/aborted/)
  })

  test('abort after complete gives 404', async () => {
    const upload = await withPart()
    const etag = `"${createHash('md5').update('part one bytes').digest('hex')}"`
    const complete = await api.complete(TEST, upload, [etag])
    expect(complete.status).toBe(204)
    const res = await abort(upload)
    expect(res.status).toBe(404)
    expect((await errorsOf(res))[0]).toMatch(/completed/)
    expect(emu.uploadState(upload.uploadId)).toBe('completed')
  })

  test("another test's upload, unknown upload, mismatched key, unknown test give 404", async () => {
    const other = emu.startUpload(OTHER_TEST)
    expect((await abort(other)).status).toBe(404)
    expect(emu.uploadState(other.uploadId)).toBe('open')

    const mine = emu.startUpload(TEST)
    expect((await abort({ key: mine.key, uploadId: 'no-such-upload' })).status).toBe(404)
    expect((await abort({ key: other.key, uploadId: mine.uploadId })).status).toBe(404)
    const unknownTest = await abort(mine, {}, 'zzz-zzz-999')
    expect(unknownTest.status).toBe(404)
    expect((await errorsOf(unknownTest))[0]).toMatch(/zzz-zzz-999/)
    expect(emu.uploadState(mine.uploadId)).toBe('open')
  })

  test('bad or missing keys give 403 Forbidden', async () => {
    const upload = emu.startUpload(TEST)
    for (const keys of [
      {},
      { apiKey: DEFAULT_KEYS.apiKey },
      { apiKey: DEFAULT_KEYS.apiKey, appKey: READ_ONLY.appKey }
    ]) {
      const res = await abort(upload, { keys })
      expect(res.status).toBe(403)
      expect(await errorsOf(res)).toEqual(['Forbidden'])
    }
    expect(emu.uploadState(upload.uploadId)).toBe('open')
  })

  test('403 bodies carry status and code beside the list of errors, as Datadog answers', async () => {
    const upload = emu.startUpload(TEST)
    for (const keys of [{}, READ_ONLY]) {
      const body = (await (await abort(upload, { keys })).json()) as Record<string, unknown>
      expect(body).toMatchObject({ status: 'error', code: 403 })
      expect(Object.keys(body).sort()).toEqual(['code', 'errors', 'status'])
    }
  })

  test('a key pair without a write permission gives 403; the trigger permission is enough', async () => {
    const upload = emu.startUpload(TEST)
    const denied = await abort(upload, { keys: READ_ONLY })
    expect(denied.status).toBe(403)
    expect(await errorsOf(denied)).toEqual(['Forbidden', 'Failed permission authorization checks'])
    expect((await abort(upload, { keys: TRIGGER })).status).toBe(204)
  })

  test('an access token with synthetics_write aborts, with no key beside it', async () => {
    const upload = emu.startUpload(TEST)
    expect((await abort(upload, { token: DEFAULT_TOKEN.token })).status).toBe(204)
    const recorded = emu.abortRequests().at(-1)!
    expect(recorded.headers['authorization']).toBe(`Bearer ${DEFAULT_TOKEN.token}`)
    expect(recorded.headers['dd-api-key']).toBeUndefined()
    expect(emu.uploadState(upload.uploadId)).toBe('aborted')
  })

  test('an access token without the scope gives 403 as a key pair without the permission does', async () => {
    const upload = emu.startUpload(TEST)
    const denied = await abort(upload, { token: READ_TOKEN.token })
    expect(denied.status).toBe(403)
    expect(await errorsOf(denied)).toEqual(['Forbidden', 'Failed permission authorization checks'])
    expect(emu.uploadState(upload.uploadId)).toBe('open')
  })

  test('an expired, unknown or malformed bearer token gives 401 Unauthorized, whatever keys come with it', async () => {
    const upload = emu.startUpload(TEST)
    const cases: CallOptions[] = [
      { token: EXPIRED_TOKEN.token },
      { token: 'ddpat_X5D1uykfruyEHpCftAnMl40icD9ETHqv' },
      { token: `${DEFAULT_TOKEN.token} extra` },
      { token: EXPIRED_TOKEN.token, keys: DEFAULT_KEYS }
    ]
    for (const options of cases) {
      const res = await abort(upload, options)
      expect(res.status).toBe(401)
      expect(await res.json()).toEqual({ errors: ['Unauthorized'] })
    }
    expect(emu.uploadState(upload.uploadId)).toBe('open')
  })

  test.each([
    ['not JSON', '{"key": ', /JSON/],
    ['a JSON array', '[]', /object/],
    ['no key', { uploadId: 'u' }, /'key'/],
    ['no uploadId', { key: 'k' }, /'uploadId'/],
    ['snake_case upload_id', { key: 'k', upload_id: 'u' }, /'uploadId'/],
    ['a numeric uploadId', { key: 'k', uploadId: 42 }, /'uploadId' must be a non-empty string/],
    ['an empty key', { key: '', uploadId: 'u' }, /'key' must be a non-empty string/]
  ])('a body with %s gives 400 naming the problem', async (_label, body, message) => {
    const res = await api.call(TEST, 'multipart-upload-abort', body)
    expect(res.status).toBe(400)
    expect((await errorsOf(res))[0]).toMatch(message)
  })

  test('bodies over 1 MiB give 413', async () => {
    const res = await api.call(TEST, 'multipart-upload-abort', 'x'.repeat(1024 * 1024 + 1))
    expect(res.status).toBe(413)
  })

  test('unknown path gives 404, wrong method 405', async () => {
    const unknown = await fetch(`${emu.url}/api/v2/synthetics/tests/${TEST}/files/nope`, { method: 'POST' })
    expect(unknown.status).toBe(404)
    expect(await errorsOf(unknown)).toEqual(['Not found'])
    const wrong = await api.call(TEST, 'multipart-upload-abort', undefined, { method: 'GET' })
    expect(wrong.status).toBe(405)
    expect(wrong.headers.get('allow')).toBe('POST')
  })
})

describe('rate limit', () => {
  // Windows are calendar aligned: a test that needs its calls in one window starts at the top of one.
  const nextWindow = (periodSeconds: number) =>
    new Promise(resolve => setTimeout(resolve, periodSeconds * 1000 - (Date.now() % (periodSeconds * 1000)) + 5))
  const secondsLeft = (periodSeconds: number) =>
    Math.ceil((periodSeconds * 1000 - (Date.now() % (periodSeconds * 1000))) / 1000)

  test('headers on every answer, 429 once spent, open again after Reset seconds', async () => {
    emu.setRateLimit({ limit: 2, periodSeconds: 1, name: 'custom_limit' })
    await nextWindow(1)
    const before = emu.stats().rateLimited
    const upload = emu.startUpload(TEST)
    const first = await abort({ key: upload.key, uploadId: 'unknown' })
    const second = await abort(upload, { keys: {} })
    const third = await abort(upload)
    expect([first.status, second.status, third.status]).toEqual([404, 403, 429])
    expect([first, second, third].map(r => r.headers.get('x-ratelimit-remaining'))).toEqual(['1', '0', '0'])
    for (const res of [first, second, third]) {
      expect(res.headers.get('x-ratelimit-limit')).toBe('2')
      expect(res.headers.get('x-ratelimit-period')).toBe('1')
      expect(res.headers.get('x-ratelimit-reset')).toBe('1')
      expect(res.headers.get('x-ratelimit-name')).toBe('custom_limit')
    }
    expect(await errorsOf(third)).toEqual(['Too many requests'])
    expect(emu.stats().rateLimited).toBe(before + 1)
    expect(emu.uploadState(upload.uploadId)).toBe('open')

    await new Promise(resolve => setTimeout(resolve, Number(third.headers.get('x-ratelimit-reset')) * 1000))
    const later = await abort(upload)
    expect(later.status).toBe(204)
    expect(later.headers.get('x-ratelimit-remaining')).toBe('1')
  })

  test('Reset counts whole seconds left in the calendar-aligned window; default name', async () => {
    emu.setRateLimit({ limit: 5, periodSeconds: 60 })
    const before = secondsLeft(60)
    const res = await abort(emu.startUpload(TEST))
    // Either side of the call, in case a second (or the minute) turned during it.
    expect([before, secondsLeft(60)]).toContain(Number(res.headers.get('x-ratelimit-reset')))
    expect(res.headers.get('x-ratelimit-name')).toBe('synthetics_files')
  })

  test('presigned PUTs are not rate limited', async () => {
    emu.setRateLimit({ limit: 0, periodSeconds: 60 })
    const upload = emu.startUpload(TEST)
    const put = await fetch(upload.urls['1'] ?? '', { method: 'PUT', body: 'x' })
    expect(put.status).toBe(200)
    expect(put.headers.get('x-ratelimit-limit')).toBeNull()
  })
})

describe('faults', () => {
  const readSome = async (res: Response, atLeast: number): Promise<number> => {
    const reader = res.body!.getReader()
    let received = 0
    while (received < atLeast) {
      const { value, done } = await reader.read()
      if (done) throw new Error(`body ended after ${received} bytes`)
      received += (value as Uint8Array).length
    }
    await reader.cancel()
    return received
  }

  test('status answers instead, without aborting; only abort requests take faults', async () => {
    emu.setFaults([
      { kind: 'status', status: 503 },
      { kind: 'status', status: 429, headers: { 'X-RateLimit-Reset': '7' } }
    ])
    await api.start(TEST, ['x'])
    const upload = emu.startUpload(TEST)
    const first = await abort(upload)
    expect(first.status).toBe(503)
    expect(await errorsOf(first)).toEqual(['Service Unavailable'])
    const second = await abort(upload)
    expect(second.status).toBe(429)
    expect(second.headers.get('x-ratelimit-reset')).toBe('7')
    expect(emu.uploadState(upload.uploadId)).toBe('open')
    expect((await abort(upload)).status).toBe(204)
  })

  test('abort-then-status really aborts, so a retry sees 404', async () => {
    emu.setFaults([{ kind: 'abort-then-status', status: 502, body: 'bad gateway' }])
    const upload = await withPart()
    const res = await abort(upload)
    expect(res.status).toBe(502)
    expect(await res.text()).toBe('bad gateway')
    expect(emu.uploadState(upload.uploadId)).toBe('aborted')
    expect(emu.storedBytes(upload.uploadId)).toBe(0)
    expect((await abort(upload)).status).toBe(404)
  })

  test('abort-then-reset aborts and gives a network error', async () => {
    emu.setFaults([{ kind: 'abort-then-reset' }])
    const upload = emu.startUpload(TEST)
    await expect(abort(upload)).rejects.toThrow('fetch failed')
    expect(emu.uploadState(upload.uploadId)).toBe('aborted')
  })

  test('reset gives a network error without aborting', async () => {
    emu.setFaults([{ kind: 'reset' }])
    const upload = emu.startUpload(TEST)
    await expect(abort(upload)).rejects.toThrow('fetch failed')
    expect(emu.uploadState(upload.uploadId)).toBe('open')
  })

  test('stall-before-headers never answers', async () => {
    emu.setFaults([{ kind: 'stall-before-headers' }])
    const upload = emu.startUpload(TEST)
    await expect(abort(upload, { signal: AbortSignal.timeout(200) })).rejects.toMatchObject({ name: 'TimeoutError' })
    expect(emu.uploadState(upload.uploadId)).toBe('open')
  })

  test('stall-mid-body sends headers and part of the body, then nothing', async () => {
    emu.setFaults([{ kind: 'stall-mid-body', status: 500 }])
    const res = await abort(emu.startUpload(TEST), { signal: AbortSignal.timeout(300) })
    expect(res.status).toBe(500)
    await expect(res.text()).rejects.toMatchObject({ name: 'TimeoutError' })
  })

  test.each(['reset-mid-body', 'truncated'] as const)('%s fails while reading the body', async kind => {
    emu.setFaults([{ kind, status: 502 }])
    // A body that hung instead of failing would end in the signal's TimeoutError.
    const res = await abort(emu.startUpload(TEST), { signal: AbortSignal.timeout(2000) })
    expect(res.status).toBe(502)
    await expect(res.text()).rejects.toThrow('terminated')
  })

  test('trickle sends one byte at a time', async () => {
    emu.setFaults([{ kind: 'trickle', intervalMs: 20 }])
    const res = await abort(emu.startUpload(TEST))
    expect(res.status).toBe(503)
    const started = Date.now()
    expect(await readSome(res, 5)).toBe(5)
    expect(Date.now() - started).toBeGreaterThanOrEqual(60)
  })

  test('huge-body streams without end, or exactly `bytes` of JSON-looking text', async () => {
    emu.setFaults([{ kind: 'huge-body' }, { kind: 'huge-body', status: 200, bytes: 300_000 }])
    const endless = await abort(emu.startUpload(TEST))
    expect(endless.status).toBe(500)
    expect(endless.headers.get('content-length')).toBeNull()
    expect(await readSome(endless, 4 * 1024 * 1024)).toBeGreaterThanOrEqual(4 * 1024 * 1024)

    const sized = await abort(emu.startUpload(TEST))
    expect(sized.status).toBe(200)
    const text = await sized.text()
    expect(text).toHaveLength(300_000)
    expect((JSON.parse(text) as { errors: string[] }).errors[0]).toMatch(/^x+$/)
  })

  test('redirect carries a Location', async () => {
    emu.setFaults([{ kind: 'redirect', status: 307, location: 'https://api.datadoghq.eu/somewhere' }])
    const res = await abort(emu.startUpload(TEST), { redirect: 'manual' })
    expect(res.status).toBe(307)
    expect(res.headers.get('location')).toBe('https://api.datadoghq.eu/somewhere')
  })

  test('html answers like a proxy error page', async () => {
    emu.setFaults([{ kind: 'html', status: 502 }])
    const res = await abort(emu.startUpload(TEST))
    expect(res.status).toBe(502)
    expect(res.headers.get('content-type')).toBe('text/html')
    expect(await res.text()).toContain('<title>502 Bad Gateway</title>')
  })
})

describe('lifecycle', () => {
  test('latency delays answers and maxConcurrent counts aborts in flight', async () => {
    const own = await startEmulator({ latencyMs: 150 })
    try {
      const uploads = [1, 2, 3, 4].map(() => own.startUpload(TEST))
      const started = Date.now()
      const answers = await Promise.all(uploads.map(u => abort(u, {}, TEST, own)))
      expect(answers.map(r => r.status)).toEqual([204, 204, 204, 204])
      expect(Date.now() - started).toBeGreaterThanOrEqual(140)
      expect(own.stats()).toMatchObject({ aborts: 4, maxConcurrent: 4 })
      expect(own.openUploads()).toBe(0)
    } finally {
      await own.close()
    }
  })

  test('close() resolves with stalled and trickling connections open, ending them', async () => {
    const own = await startEmulator({ faults: [{ kind: 'stall-before-headers' }, { kind: 'trickle' }] })
    const stalled = abort(own.startUpload(TEST), {}, TEST, own).catch((error: unknown) => error)
    const trickling = await abort(own.startUpload(TEST), {}, TEST, own)
    const body = trickling.text().catch((error: unknown) => error)
    while (own.abortRequests().length < 2) await new Promise(resolve => setTimeout(resolve, 10))
    await own.close()
    // Undici's errors come from outside jest's realm, so match by name.
    expect(await stalled).toMatchObject({ name: 'TypeError', message: 'fetch failed' })
    expect(await body).toMatchObject({ name: 'TypeError', message: 'terminated' })
  })

  test('the CLI prints one JSON line, serves, logs without keys and stops on SIGTERM', async () => {
    const cli = fileURLToPath(new URL('../emulator/cli.ts', import.meta.url))
    const child = spawn(
      process.execPath,
      [cli, '--start-upload', TEST, '--rate-limit', '10/60', '--storage', 'azure'],
      {
        stdio: ['ignore', 'pipe', 'pipe']
      }
    )
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const [firstLine] = (await once(child.stdout, 'data')) as [Buffer]
    const ready = JSON.parse(firstLine.toString()) as {
      url: string
      apiKey: string
      appKey: string
      accessToken: string
      upload: { key: string; uploadId: string }
    }
    expect(ready.apiKey).toBe(DEFAULT_KEYS.apiKey)
    expect(ready.accessToken).toBe(DEFAULT_TOKEN.token)
    const res = await abort(ready.upload, {}, TEST, ready)
    expect(res.status).toBe(204)
    expect(res.headers.get('x-ratelimit-limit')).toBe('10')
    expect(await new EmulatorClient(ready.url).uploadState(ready.upload.uploadId)).toEqual({
      state: 'aborted',
      storedBytes: 0
    })
    const started = await new EmulatorClient(ready.url).start(TEST, ['part'])
    const part = await fetch(started.multipart_presigned_urls_params.urls['1'] ?? '', { method: 'PUT', body: 'part' })
    expect([part.status, part.headers.get('etag')]).toEqual([201, null])

    child.kill('SIGTERM')
    const [code] = (await once(child, 'exit')) as [number | null]
    expect(code).toBe(0)
    expect(stderr).toContain(`POST /api/v2/synthetics/tests/${TEST}/files/multipart-upload-abort 204`)
    expect(stderr).not.toContain(DEFAULT_KEYS.apiKey)
    expect(stderr).not.toContain(DEFAULT_KEYS.appKey)
    expect(stderr).not.toContain(DEFAULT_TOKEN.token)
  })

  test('the CLI refuses a storage it does not emulate, naming the ones it does', async () => {
    const cli = fileURLToPath(new URL('../emulator/cli.ts', import.meta.url))
    const child = spawn(process.execPath, [cli, '--storage', 'gcs'], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const [code] = (await once(child, 'exit')) as [number | null]
    expect(code).toBe(2)
    expect(stderr).toContain("--storage must be one of s3, azure, got 'gcs'")
  })
})
