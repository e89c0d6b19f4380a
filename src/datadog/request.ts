import type { Credentials, Upload } from '../settings/settings.js'
import type { Outgoing } from '../transport/sent.js'
import { MAX_MESSAGE_CHARS, oneLine } from '../text/text.js'
import { ACTION_NAME, ACTION_VERSION } from './version.js'

export const MAX_ERRORS = 20

function abortUrl(baseUrl: string, testId: string): string {
  return `${baseUrl}/api/v2/synthetics/tests/${encodeURIComponent(testId)}/files/multipart-upload-abort`
}

function abortBody(upload: Upload): string {
  return JSON.stringify({ key: upload.key, uploadId: upload.uploadId })
}

function userAgent(): string {
  return `${ACTION_NAME}/${ACTION_VERSION} (node ${process.version}; ${process.platform} ${process.arch})`
}

/** A token goes alone: Datadog takes a bearer token without an API key, and a key not needed is a key not exposed. */
function authHeaders(credentials: Credentials): Record<string, string> {
  if (credentials.kind === 'token') return { Authorization: `Bearer ${credentials.token}` }
  return { 'DD-API-KEY': credentials.apiKey, 'DD-APPLICATION-KEY': credentials.appKey }
}

export function abortRequest(baseUrl: string, upload: Upload, credentials: Credentials): Outgoing {
  return {
    method: 'POST',
    url: abortUrl(baseUrl, upload.testId),
    headers: {
      ...authHeaders(credentials),
      'Content-Type': 'application/json',
      Accept: 'application/json',
      'User-Agent': userAgent()
    },
    body: abortBody(upload)
  }
}

/**
 * The error messages in an answer's body, whatever its shape: Datadog's
 * `{"errors": ["..."]}`, JSON:API error objects, other JSON, an HTML page
 * from a proxy, plain text, or nothing. Each message is one bounded line.
 */
export function errorMessages(body: string, contentType: string | undefined, truncated = false): string[] {
  const text = body.trim()
  if (text === '') return []
  const type = (contentType ?? '').toLowerCase()
  const looksJson = /^[[{]/.test(text)
  // JSON cut at the size limit cannot parse: it is shown as the text it is.
  if (looksJson && truncated) return [oneLine(`(a JSON body cut at the size limit) ${text}`, MAX_MESSAGE_CHARS)]
  if (looksJson || type.includes('json')) {
    try {
      return fromJson(JSON.parse(text) as unknown)
    } catch {
      // Said to be JSON but is not: fall through to plain text.
    }
  }
  if (type.includes('html') || /^<(!doctype|html|head|body|\?xml)/i.test(text)) return [fromHtml(text)]
  return [oneLine(text, MAX_MESSAGE_CHARS)]
}

function fromJson(data: unknown): string[] {
  if (data !== null && typeof data === 'object' && !Array.isArray(data)) {
    const record = data as Record<string, unknown>
    const errors = record['errors']
    if (Array.isArray(errors)) {
      const list = errors.map(describeError).filter(s => s !== '')
      return bound(list.length > 0 ? list : [oneLine(JSON.stringify(data), MAX_MESSAGE_CHARS)])
    }
    if (errors !== undefined) return bound([describeError(errors)])
    for (const field of ['message', 'error', 'detail', 'title']) {
      if (typeof record[field] === 'string' && record[field] !== '') return [oneLine(record[field], MAX_MESSAGE_CHARS)]
    }
  }
  return [oneLine(JSON.stringify(data), MAX_MESSAGE_CHARS)]
}

function describeError(error: unknown): string {
  if (typeof error === 'string') return oneLine(error, MAX_MESSAGE_CHARS)
  if (error !== null && typeof error === 'object' && !Array.isArray(error)) {
    const e = error as Record<string, unknown>
    const part = (field: string): string | undefined =>
      typeof e[field] === 'string' && e[field] !== '' ? e[field] : undefined
    const title = part('title')
    const detail = part('detail') ?? part('message')
    const source =
      e['source'] !== null && typeof e['source'] === 'object' ? (e['source'] as Record<string, unknown>) : {}
    const pointer = source['pointer'] ?? source['parameter']
    const text = [title, detail && detail !== title ? detail : undefined].filter(Boolean).join(': ')
    const located = typeof pointer === 'string' && pointer !== '' ? `${text} (at ${pointer})` : text
    if (located !== '') return oneLine(located, MAX_MESSAGE_CHARS)
  }
  return oneLine(JSON.stringify(error) ?? String(error), MAX_MESSAGE_CHARS)
}

function fromHtml(html: string): string {
  const lower = html.toLowerCase()
  const plain = (fragment: string | undefined): string => decodeEntities(stripTags(fragment ?? '')).trim()
  const title = plain(element(html, lower, 'title'))
  const heading = plain(element(html, lower, 'h1'))
  const text = title || heading || plain(withoutElements(html, lower, ['script', 'style']))
  return oneLine(
    `(an HTML page, not a Datadog answer: likely a proxy or load balancer) ${oneLine(text, 200)}`,
    MAX_MESSAGE_CHARS
  )
}

// The page is scanned with indexOf, never with a regular expression that
// could backtrack: a body of 64 KiB of '<' costs one pass, not seconds.

/** The tags replaced by spaces; a '<' with no '>' after it is text. */
function stripTags(html: string): string {
  let out = ''
  let at = 0
  for (;;) {
    const open = html.indexOf('<', at)
    const close = open < 0 ? -1 : html.indexOf('>', open)
    if (close < 0) return out + html.slice(at)
    out += html.slice(at, open) + ' '
    at = close + 1
  }
}

/** The content of the first <name ...>...</name>, if the page has one. */
function element(html: string, lower: string, name: string): string | undefined {
  const span = elementSpan(lower, name, 0)
  return span && html.slice(span.contentStart, span.contentEnd)
}

function withoutElements(html: string, lower: string, names: readonly string[]): string {
  let out = html
  let outLower = lower
  for (const name of names) {
    let kept = ''
    let at = 0
    for (let span = elementSpan(outLower, name, 0); span; span = elementSpan(outLower, name, at)) {
      kept += out.slice(at, span.start) + ' '
      at = span.end
    }
    out = kept + out.slice(at)
    outLower = out.toLowerCase()
  }
  return out
}

interface Span {
  readonly start: number
  readonly contentStart: number
  readonly contentEnd: number
  readonly end: number
}

function elementSpan(lower: string, name: string, from: number): Span | undefined {
  for (let start = lower.indexOf(`<${name}`, from); start >= 0; start = lower.indexOf(`<${name}`, start + 1)) {
    // <title> or <title lang=...>, not <titles>.
    const next = lower[start + name.length + 1] ?? ''
    if (next !== '>' && !/\s/.test(next)) continue
    const openEnd = lower.indexOf('>', start)
    if (openEnd < 0) return undefined
    const closeStart = lower.indexOf(`</${name}`, openEnd)
    if (closeStart < 0) return undefined
    const closeEnd = lower.indexOf('>', closeStart)
    if (closeEnd < 0) return undefined
    return { start, contentStart: openEnd + 1, contentEnd: closeStart, end: closeEnd + 1 }
  }
  return undefined
}

function decodeEntities(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&')
}

// What one answer may leave behind, whatever it holds: ten thousand uploads
// keep their errors until the report, and must fit in memory together.
const MAX_ERRORS_CHARS = 2000

function bound(list: string[]): string[] {
  let kept = 0
  let chars = 0
  while (kept < list.length && kept < MAX_ERRORS && chars + (list[kept]?.length ?? 0) <= MAX_ERRORS_CHARS) {
    chars += list[kept]?.length ?? 0
    kept++
  }
  // The first message always stays: it is at most one bounded line.
  kept = Math.max(kept, Math.min(1, list.length))
  if (kept === list.length) return list
  return [...list.slice(0, kept), `(and ${list.length - kept} more errors)`]
}
