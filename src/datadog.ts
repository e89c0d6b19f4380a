import type { Upload } from './inputs.js'
import { oneLine, truncate } from './text.js'
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
export const MAX_ERROR_CHARS = 500

export function abortUrl(baseUrl: string, testId: string): string {
  return `${baseUrl}/api/v2/synthetics/tests/${encodeURIComponent(testId)}/files/multipart-upload-abort`
}

export function abortBody(upload: Upload): string {
  return JSON.stringify({ key: upload.key, uploadId: upload.uploadId })
}

export function userAgent(nodeVersion: string = process.version): string {
  return `${ACTION_NAME}/${ACTION_VERSION} (node ${nodeVersion}; ${process.platform} ${process.arch})`
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
      if (looksJson && truncated)
        return [oneLine(`(a JSON body cut at the size limit) ${text.slice(0, MAX_ERROR_CHARS)}`, MAX_ERROR_CHARS)]
      // Said to be JSON but is not: fall through to plain text.
    }
  }
  if (type.includes('html') || /^<(!doctype|html|head|body|\?xml)/i.test(text)) return [fromHtml(text)]
  return [oneLine(text, MAX_ERROR_CHARS)]
}

function fromJson(data: unknown): string[] {
  if (data !== null && typeof data === 'object' && !Array.isArray(data)) {
    const record = data as Record<string, unknown>
    const errors = record['errors']
    if (Array.isArray(errors)) {
      const list = errors.map(describeError).filter(s => s !== '')
      return bound(list.length > 0 ? list : [oneLine(JSON.stringify(data), MAX_ERROR_CHARS)])
    }
    if (errors !== undefined) return bound([describeError(errors)])
    for (const field of ['message', 'error', 'detail', 'title']) {
      if (typeof record[field] === 'string' && record[field] !== '') return [oneLine(record[field], MAX_ERROR_CHARS)]
    }
  }
  return [oneLine(JSON.stringify(data), MAX_ERROR_CHARS)]
}

function describeError(error: unknown): string {
  if (typeof error === 'string') return oneLine(error, MAX_ERROR_CHARS)
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
    if (located !== '') return oneLine(located, MAX_ERROR_CHARS)
  }
  return oneLine(JSON.stringify(error) ?? String(error), MAX_ERROR_CHARS)
}

function fromHtml(html: string): string {
  const plain = (fragment: string | undefined): string =>
    decodeEntities((fragment ?? '').replace(/<[^>]*>/g, ' ')).trim()
  const title = plain(/<title[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1])
  const heading = plain(/<h1[^>]*>([\s\S]*?)<\/h1>/i.exec(html)?.[1])
  const text = title || heading || plain(html.replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' '))
  return oneLine(
    `(an HTML page, not a Datadog answer: likely a proxy or load balancer) ${oneLine(text, 200)}`,
    MAX_ERROR_CHARS
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

/** What the person reading the failed step should check, by status. */
export function hintFor(status: number): string {
  if (status === 400)
    return 'Datadog refused the request itself: check "key" and "upload-id" (the errors above say which field).'
  if (status === 401 || status === 403)
    return 'Check that the API key and application key belong to the same organisation, that "site" (or "api-url") is the site of that organisation, and that the application key has the synthetics_write permission.'
  if (status === 404)
    return 'Check "test-id" and "site" (or "api-url"), and that "key" and "upload-id" come from the same answer that started the upload; the upload may also be completed or aborted already (set ignore-not-found: true to treat that as success).'
  if (status === 408) return 'The request timed out on the way; it is safe to run the step again.'
  if (status === 413) return 'The request body was refused as too large.'
  if (status === 429)
    return 'Rate limited by Datadog: the limit did not reset in time; run again later or raise "timeout".'
  if (status >= 500 && status < 600) return 'Datadog or a proxy in between failed; it is safe to run the step again.'
  if (status >= 300 && status < 400)
    return 'The API answered with a redirect, which this action never follows (the keys would go along): check "site" or "api-url".'
  return 'Unexpected answer from the API.'
}

export function describeStatus(status: number): string {
  const names: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    405: 'Method Not Allowed',
    408: 'Request Timeout',
    413: 'Payload Too Large',
    429: 'Too Many Requests',
    500: 'Internal Server Error',
    502: 'Bad Gateway',
    503: 'Service Unavailable',
    504: 'Gateway Timeout'
  }
  return names[status] ? `${status} ${names[status]}` : String(status)
}

export function shortLocation(location: string | undefined): string {
  if (!location) return '(no Location header)'
  try {
    const url = new URL(location)
    return truncate(`${url.protocol}//${url.host}${url.pathname}`, 200)
  } catch {
    return oneLine(location, 200)
  }
}
