import { readFileSync } from 'node:fs'
import { describe, expect, test } from '@jest/globals'
import { abortRequest, errorMessages, MAX_ERRORS } from '../src/datadog/request.js'
import { MAX_MESSAGE_CHARS } from '../src/text/text.js'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  name: string
  version: string
}
const LINE_BREAK = /[\n\r\u000b\u000c\u0085\u2028\u2029]/
const keys = {
  kind: 'keys',
  apiKey: '0123456789abcdef0123456789abcdef',
  appKey: 'fedcba9876543210fedcba9876543210fedcba98'
} as const
const token = { kind: 'token', token: 'ddpat_Xq7vN2mK9pL4rT8wZ3bH6cY1fJ5dG0eA' } as const
const upload = {
  testId: 'abc-def-123',
  key: 'org-123/api-upload-file/abc-def-123/2024-01-01T00:00:00_uuid.json',
  uploadId: 'upload-id-abc123'
}

describe('abortRequest', () => {
  test('POSTs to the documented path of the test', () => {
    const request = abortRequest('https://api.datadoghq.com', upload, keys)
    expect(request.method).toBe('POST')
    expect(request.url).toBe(
      'https://api.datadoghq.com/api/v2/synthetics/tests/abc-def-123/files/multipart-upload-abort'
    )
  })

  test('the test id is URL-encoded, so it cannot change the path', () => {
    const request = abortRequest('https://api.datadoghq.eu', { ...upload, testId: 'a b/../c?d#e' }, keys)
    const url = new URL(request.url)
    expect(url.host).toBe('api.datadoghq.eu')
    expect(url.pathname).toBe('/api/v2/synthetics/tests/a%20b%2F..%2Fc%3Fd%23e/files/multipart-upload-abort')
    expect(url.search).toBe('')
    expect(url.hash).toBe('')
  })

  test('a base URL with a path prefix keeps it', () => {
    const request = abortRequest('http://127.0.0.1:8080/proxy', upload, keys)
    expect(request.url).toBe(
      'http://127.0.0.1:8080/proxy/api/v2/synthetics/tests/abc-def-123/files/multipart-upload-abort'
    )
  })

  test('the body is exactly {"key","uploadId"}, valid JSON whatever the values hold', () => {
    expect(abortRequest('https://api.datadoghq.com', upload, keys).body).toBe(
      '{"key":"org-123/api-upload-file/abc-def-123/2024-01-01T00:00:00_uuid.json","uploadId":"upload-id-abc123"}'
    )
    const odd = { ...upload, key: 'a"b\\c\n', uploadId: '"},"x":{' }
    const parsed = JSON.parse(abortRequest('https://api.datadoghq.com', odd, keys).body) as Record<string, unknown>
    expect(Object.keys(parsed)).toEqual(['key', 'uploadId'])
    expect(parsed).toEqual({ key: odd.key, uploadId: odd.uploadId })
  })

  test.each([
    ['keys: both keys', keys, { 'DD-API-KEY': keys.apiKey, 'DD-APPLICATION-KEY': keys.appKey }],
    ['an access token: the bearer token alone, no key', token, { Authorization: `Bearer ${token.token}` }]
  ])('headers with %s, JSON content type and a User-Agent with name and version', (_, credentials, expected) => {
    const { headers } = abortRequest('https://api.datadoghq.com', upload, credentials)
    const auth = Object.fromEntries(Object.entries(headers).filter(([name]) => /^(dd-|authorization)/i.test(name)))
    expect(auth).toEqual(expected)
    expect(headers['Content-Type']).toBe('application/json')
    expect(headers['Accept']).toBe('application/json')
    expect(headers['User-Agent']).toContain(`${pkg.name}/${pkg.version}`)
  })
})

describe('errorMessages', () => {
  test("Datadog's list of strings", () => {
    expect(errorMessages('{"errors":["a","b"]}', 'application/json')).toEqual(['a', 'b'])
  })

  test('JSON:API error objects give title, detail and where', () => {
    const body = JSON.stringify({
      errors: [
        { status: '404', title: 'Not Found', detail: 'upload not found' },
        { status: '400', title: 'Bad Request', detail: 'missing field', source: { pointer: '/data/uploadId' } },
        { status: '403', title: 'Forbidden' },
        { status: '400', detail: 'only detail' }
      ]
    })
    expect(errorMessages(body, 'application/vnd.api+json')).toEqual([
      'Not Found: upload not found',
      'Bad Request: missing field (at /data/uploadId)',
      'Forbidden',
      'only detail'
    ])
  })

  test('other JSON: a message field, else the JSON itself on one line', () => {
    expect(errorMessages('{"message":"quota exceeded"}', 'application/json')).toEqual(['quota exceeded'])
    expect(errorMessages('{"status":"error","code":42}', 'application/json')).toEqual(['{"status":"error","code":42}'])
    expect(errorMessages('[1, 2]', undefined)).toEqual(['[1,2]'])
  })

  test('"errors" that is not a list still yields its content', () => {
    expect(errorMessages('{"errors":"boom"}', 'application/json')).toEqual(['boom'])
    expect(errorMessages('{"errors":{"title":"Bad","detail":"worse"}}', 'application/json')).toEqual(['Bad: worse'])
    expect(errorMessages('{"errors":{"code":5}}', 'application/json')).toEqual(['{"code":5}'])
  })

  test('an empty list of errors falls back to the whole body', () => {
    expect(errorMessages('{"errors":[]}', 'application/json')).toEqual(['{"errors":[]}'])
  })

  test('an HTML page from a proxy gives its title, decoded, marked as not from Datadog', () => {
    const html =
      '<!DOCTYPE html><html><head><title>502 Bad Gateway &amp; more</title></head><body><script>x()</script></body></html>'
    const [message, ...rest] = errorMessages(html, 'text/html')
    expect(rest).toEqual([])
    expect(message).toContain('502 Bad Gateway & more')
    expect(message).toMatch(/HTML/)
    expect(message).not.toContain('x()')
  })

  test('an HTML page without a title gives its heading', () => {
    const [message] = errorMessages('<html><body><h1>Service Unavailable</h1><p>try later</p></body></html>', undefined)
    expect(message).toContain('Service Unavailable')
  })

  // A proxy page with an empty <title> and the status in <h1> is common
  // (and Datadog's own would be no better): the message must not be blank.
  test('an HTML page without title or heading gives its text, scripts and styles left out', () => {
    const [message] = errorMessages(
      '<html><head><style>p{}</style></head><body><script type="x">alert(1)</script><p>Access <b>denied</b></p></body></html>',
      'text/html'
    )
    expect(message).toMatch(/proxy or load balancer\) Access denied$/)
  })

  // 64 KiB of these took seconds with backtracking patterns (jest's test timeout catches a return of that).
  test.each(['<', '<a', '<title', '<title>', '<script>', '<h1 ', '</'])(
    'an HTML page of 64 KiB of %j is read in one pass',
    unit => {
      const body = '<html>' + unit.repeat(Math.ceil(65_536 / unit.length))
      const [message] = errorMessages(body, 'text/html')
      expect(message).toMatch(/^\(an HTML page/)
    }
  )

  test('an HTML page with an empty title falls back to its heading', () => {
    const [message] = errorMessages(
      '<html><head><title></title></head><body><h1>502 Bad Gateway</h1></body></html>',
      'text/html'
    )
    expect(message).toContain('502 Bad Gateway')
  })

  test('plain text, flattened to one line', () => {
    expect(errorMessages('upstream connect error\nor disconnect', 'text/plain')).toEqual([
      'upstream connect error or disconnect'
    ])
  })

  test('an empty or blank body has no messages', () => {
    expect(errorMessages('', 'application/json')).toEqual([])
    expect(errorMessages('  \n ', undefined)).toEqual([])
  })

  test('a body said to be JSON that is not is shown as text, not dropped', () => {
    expect(errorMessages('Service Unavailable', 'application/json')).toEqual(['Service Unavailable'])
    expect(errorMessages('{not json', 'application/json')).toEqual(['{not json'])
    const [html] = errorMessages('<html><title>Gateway Timeout</title></html>', 'application/json')
    expect(html).toContain('Gateway Timeout')
  })

  test('JSON cut at the size limit says so', () => {
    const [message] = errorMessages('{"errors":["something went wr', 'application/json', true)
    expect(message).toMatch(/cut at the size limit/)
    expect(message).toContain('something went wr')
  })

  // The label is added after the text was cut to the bound, so the result
  // is longer than the bound the other shapes keep to.
  test('JSON cut at the size limit is bounded like every other message', () => {
    const [message] = errorMessages('{"errors":["' + 'x'.repeat(5000), 'application/json', true)
    expect(Array.from(message ?? '').length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS)
  })

  test('a very long body is bounded, in length and in number of messages', () => {
    for (const body of [
      'x'.repeat(100_000),
      JSON.stringify({ errors: ['y'.repeat(100_000)] }),
      `<html><title>${'z'.repeat(100_000)}</title></html>`,
      JSON.stringify({ message: 'm'.repeat(100_000) })
    ]) {
      for (const message of errorMessages(body, undefined)) {
        expect(Array.from(message).length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS)
      }
    }
    const many = errorMessages(JSON.stringify({ errors: Array.from({ length: 100 }, (_, i) => `e${i}`) }), undefined)
    expect(many).toHaveLength(MAX_ERRORS + 1)
    expect(many[0]).toBe('e0')
    expect(many[MAX_ERRORS]).toContain(`${100 - MAX_ERRORS} more`)
  })

  test.each([
    ['plain', 'denied\n::error::x', 'text/plain'],
    ['plain CRLF', 'denied\r\n::add-mask::x', undefined],
    ['JSON string', JSON.stringify({ errors: ['denied\n::error::x', 'ok\r\n::add-mask::y'] }), 'application/json'],
    ['JSON:API', JSON.stringify({ errors: [{ title: 'a\n::error::b', detail: 'c\u2028::warning::d' }] }), undefined],
    ['HTML', '<html><title>a\n::error::b</title></html>', 'text/html'],
    ['other JSON', JSON.stringify({ message: 'x\r\n::set-env name=A::b' }), undefined]
  ])('%s: a line break in the body never reaches a message', (_, body, type) => {
    const messages = errorMessages(body, type)
    expect(messages.length).toBeGreaterThan(0)
    for (const message of messages) {
      expect(message).not.toMatch(LINE_BREAK)
      expect(message.startsWith('::')).toBe(false)
    }
  })
})
