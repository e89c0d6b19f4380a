import type { Upload } from './settings.js'
import { MAX_MESSAGE_CHARS, oneLine } from './text.js'
import { ACTION_NAME, ACTION_VERSION } from './version.js'

export interface Request {
  readonly method: 'POST'
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

export interface Keys {
  readonly apiKey: string
  readonly appKey: string
}

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

export function abortRequest(baseUrl: string, upload: Upload, keys: Keys): Request {
  return {
    method: 'POST',
    url: abortUrl(baseUrl, upload.testId),
    headers: {
      'DD-API-KEY': keys.apiKey,
      'DD-APPLICATION-KEY': keys.appKey,
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
  if (looksJson || type.includes('json')) {
    try {
      return fromJson(JSON.parse(text) as unknown)
    } catch {
      if (looksJson && truncated) return [oneLine(`(a JSON body cut at the size limit) ${text}`, MAX_MESSAGE_CHARS)]
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
  const plain = (fragment: string | undefined): string =>
    decodeEntities((fragment ?? '').replace(/<[^>]*>/g, ' ')).trim()
  const title = plain(/<title[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1])
  const heading = plain(/<h1[^>]*>([\s\S]*?)<\/h1>/i.exec(html)?.[1])
  const text = title || heading || plain(html.replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' '))
  return oneLine(
    `(an HTML page, not a Datadog answer: likely a proxy or load balancer) ${oneLine(text, 200)}`,
    MAX_MESSAGE_CHARS
  )
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

function bound(list: string[]): string[] {
  if (list.length <= MAX_ERRORS) return list
  return [...list.slice(0, MAX_ERRORS), `(and ${list.length - MAX_ERRORS} more errors)`]
}
