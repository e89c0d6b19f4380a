// A server that echoes the credentials it receives (the keys, or the access
// token), in every disguise, and writes Markdown at the summary: through the
// real bundle, nothing of a secret comes out and nothing of the server's text
// becomes a link. Inputs written to mislead the log, or to exhaust the step,
// are refused as plainly.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { DEFAULT_KEYS, DEFAULT_TOKEN } from '../../emulator/server.ts'
import { annotations, emulatorInputs, runAction, tokenInputs, type RunResult } from '../support/runner.ts'

const SECRETS = [DEFAULT_KEYS.apiKey, DEFAULT_KEYS.appKey, DEFAULT_TOKEN.token]

let server: Server
let url: string
interface Answer {
  readonly type: string
  readonly body: string | Buffer
  /** The Content-Encoding a proxy put on the body. */
  readonly encoding?: string
}
let answer: (apiKey: string, appKey: string) => Answer = () => ({
  type: 'text/plain',
  body: ''
})

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    req.resume()
    // A token is echoed in both places a key would be, whole and from its 8th character.
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    const { type, body, encoding } = bearer
      ? answer(bearer, bearer.slice(7))
      : answer(String(req.headers['dd-api-key']), String(req.headers['dd-application-key']))
    res.writeHead(403, { 'Content-Type': type, ...(encoding ? { 'Content-Encoding': encoding } : {}) }).end(body)
  })
  await new Promise<void>(done => server.listen(0, '127.0.0.1', done))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise(done => server.close(done))
})

/** Every 8-character piece of any secret, looked for case-folded, separators dropped, percent-escapes decoded. */
function leaks(result: RunResult): string[] {
  const stdout = result.stdout
    .split('\n')
    .filter(line => !line.startsWith('::add-mask::'))
    .join('\n')
  const places = {
    stdout,
    stderr: result.stderr,
    outputs: JSON.stringify(result.outputs),
    summary: result.summary,
    resultsFile: readFileSync(result.outputs['results-file'] ?? '', 'utf8')
  }
  const fold = (text: string): string => text.toLowerCase().replace(/[^a-z0-9]/g, '')
  const found: string[] = []
  for (const [where, text] of Object.entries(places)) {
    const forms = [
      fold(text),
      fold(text.replace(/%([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))))
    ]
    for (const secret of SECRETS.map(fold)) {
      for (let i = 0; i + 8 <= secret.length; i++) {
        if (forms.some(f => f.includes(secret.slice(i, i + 8)))) found.push(`${where}: ${secret.slice(i, i + 8)}`)
      }
    }
  }
  return found
}

const each = (key: string, f: (c: string) => string): string => Array.from(key, f).join('')
const nearCut = (form: string): string => `${'x'.repeat(480)} ${form}`

const disguises: Record<string, (apiKey: string, appKey: string) => Answer> = {
  'JSON \\u escapes near the 500-character cut': k => ({
    type: 'application/json',
    body: `{"errors": ["${'y'.repeat(485)} ${each(k, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"]}`
  }),
  'ANSI codes near the cut': k => ({ type: 'text/plain', body: nearCut(each(k, c => `\u001b[1m${c}`)) }),
  'HTML entities near the cut': k => ({
    type: 'text/plain',
    body: nearCut(each(k, c => `&#${c.charCodeAt(0)};`))
  }),
  'spaces, newlines and NUL': (k, a) => ({
    type: 'text/plain',
    body: `${k.match(/.{1,4}/g)?.join(' ')} / ${a.match(/.{1,5}/g)?.join('\n\u0000')}`
  }),
  'zero-width characters and HTML tags': (k, a) => ({
    type: 'text/plain',
    body: `${each(k, c => `${c}\u200b`)} ${a.match(/.{1,3}/g)?.join('<i></i>')}`
  }),
  'upper case': k => ({ type: 'application/json', body: JSON.stringify({ errors: [`bad key ${k.toUpperCase()}`] }) }),
  base64: (k, a) => ({
    type: 'text/plain',
    body: `${Buffer.from(`key=${k}`).toString('base64')} ${Buffer.from(`x${a}`).toString('base64url')}`
  }),
  'percent-encoding': k => ({
    type: 'text/plain',
    body: `see /keys?k=${each(k, c => `%${c.charCodeAt(0).toString(16)}`)}`
  })
}

test.each(
  Object.keys(disguises).flatMap(name => [
    [name, 'keys'],
    [name, 'an access token']
  ])
)('a secret echoed as %s never comes out (with %s)', async (name, credentials) => {
  answer = disguises[name] ?? answer
  const extra = credentials === 'keys' ? {} : tokenInputs()
  const result = await runAction({ inputs: emulatorInputs(url, { key: 'k', uploadId: 'u1' }, extra) })
  expect(result.code).toBe(1)
  expect(result.outputs['status']).toBe('403')
  expect(leaks(result)).toEqual([])
  // The answer is still reported: the step says what the server said, key aside.
  expect(annotations(result, 'error').at(-1)).toMatch(/403 Forbidden/)
})

test("Datadog's 403 gzipped by a proxy: the step shows the message, decoded, and no byte of the gzip", async () => {
  const message = 'Forbidden: the application key lacks the synthetics_write permission'
  answer = () => ({ type: 'application/json', encoding: 'gzip', body: gzipSync(JSON.stringify({ errors: [message] })) })
  const result = await runAction({ inputs: emulatorInputs(url, { key: 'k', uploadId: 'u1' }) })
  expect(result.code).toBe(1)
  expect(JSON.parse(result.outputs['errors'] ?? '[]')).toEqual([message])
  expect(annotations(result, 'error').at(-1)).toContain(`403 Forbidden`)
  expect(annotations(result, 'error').at(-1)).toContain(message)
  for (const text of [result.stdout, result.summary, JSON.stringify(result.outputs)])
    expect(text).not.toContain('\ufffd')
})

test('server text in the summary stays literal: no link, image, mention or math', async () => {
  answer = () => ({
    type: 'application/json',
    body: JSON.stringify({
      errors: ['Your key expired, renew at https://evil.example/renew ![p](https://evil.example/p.png) @octocat $x^2$']
    })
  })
  const result = await runAction({ inputs: emulatorInputs(url, { key: 'k', uploadId: 'u1' }) })
  expect(result.summary).toContain('renew at https://evil.example/renew')
  const outside = result.summary.replace(/`[^`]*`/g, '')
  for (const marker of ['https://', '![', '@octocat', '$']) expect(outside).not.toContain(marker)
})

describe('inputs written against the log and the step', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hostile-inputs-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  test('a bidi override in timeout, and one with a line separator in the uploads-file path, reach the log escaped', async () => {
    const result = await runAction({
      inputs: emulatorInputs(url, undefined, { timeout: '1\u202e0', 'uploads-file': 'up\u202eloads\u2028.json' })
    })
    expect(result.code).toBe(1)
    for (const text of [result.stdout, result.stderr, result.summary, JSON.stringify(result.outputs)]) {
      expect(text).not.toMatch(/[\u202e\u2028]/)
    }
    const errors = annotations(result, 'error')
    expect(errors).toContain('Input "timeout" must be a number from 1 to 3600, not "1\\u202e0".')
    expect(errors).toContainEqual(
      expect.stringMatching(/^Input "uploads-file": cannot read "up\\u202eloads\\u2028\.json": no such file/)
    )
    expect(errors.at(-1)).toBe('2 input problem(s), listed above; no request was sent.')
  })

  test('16 MiB of tiny values in uploads-file: refused at the 10,001st, the rest never parsed', async () => {
    const path = join(dir, 'tiny.jsonl')
    writeFileSync(path, '{}\n'.repeat(Math.floor((16 * 1024 * 1024) / 3)))
    const result = await runAction({
      inputs: emulatorInputs(url, undefined, { timeout: '1', 'uploads-file': path }),
      // Parsing every value took 1.5 GiB; reading up to the limit fits in a small heap.
      env: { NODE_OPTIONS: '--max-old-space-size=128' }
    })
    expect(result.killed).toBe(false)
    expect(result.stderr).not.toMatch(/heap out of memory/)
    expect(result.code).toBe(1)
    expect(annotations(result, 'error')).toEqual([
      'Input "uploads-file" has more than 10000 entries; at most 10000 are accepted in one step.',
      '1 input problem(s), listed above; no request was sent.'
    ])
  })
})
