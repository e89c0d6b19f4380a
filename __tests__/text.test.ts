import { describe, expect, test } from '@jest/globals'
import { createRedactor } from '../src/text/redact.js'

const redact = (text: string, secrets: readonly string[]): string => createRedactor(secrets).redact(text)
import {
  editDistance,
  hasControl,
  markdownCell,
  MAX_MESSAGE_CHARS,
  oneLine,
  quote,
  truncate
} from '../src/text/text.js'

const LINE_BREAK = /[\n\r\u000b\u000c\u0085\u2028\u2029]/

describe('oneLine', () => {
  test.each([
    ['a\nb', 'a b'],
    ['a\r\nb', 'a b'],
    ['ok\n::error::x', 'ok ::error::x'],
    ['ok\r\n::add-mask::secret', 'ok ::add-mask::secret'],
    ['a\u2028b\u2029c\u0085d', 'a b c d'],
    ['\u001b[31mred\u001b[0m text', 'red text'],
    ['  lots \t\t of   space  ', 'lots of space'],
    ['nul\u0000bell\u0007del\u007f', 'nul bell del']
  ])('%j becomes %j', (input, expected) => {
    expect(oneLine(input)).toBe(expected)
  })

  test('a workflow command can never start a line', () => {
    const out = oneLine('x\n::set-output name=a::b\r::error::y\u2028::warning::z')
    expect(out).not.toMatch(LINE_BREAK)
    expect(out.startsWith('::')).toBe(false)
  })

  test('long text is cut to the bound, with an ellipsis', () => {
    const out = oneLine('a'.repeat(2000))
    expect(Array.from(out)).toHaveLength(MAX_MESSAGE_CHARS)
    expect(out.endsWith('…')).toBe(true)
    expect(oneLine('abcdef', 4)).toBe('abc…')
    expect(oneLine('abcd', 4)).toBe('abcd')
  })

  test('cutting never splits a character made of two UTF-16 units', () => {
    const out = oneLine('😀'.repeat(10), 5)
    expect(out).toBe('😀😀😀😀…')
    expect(truncate('😀😀', 2)).toBe('😀😀')
  })

  test('a long text read in part is cut between characters, never inside one', () => {
    // 4 * 500 + 256 units in: the first window would end inside a pair.
    const out = oneLine('a'.repeat(2255) + '😀'.repeat(1000))
    expect(out).toBe('a'.repeat(499) + '…')
    const emoji = oneLine('😀'.repeat(5000))
    expect(emoji).toBe('😀'.repeat(499) + '…')
    expect(emoji).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/)
  })

  test('what a long text says after many spaces or escape codes is kept', () => {
    const spaced = 'Error:' + ' \n'.repeat(1200) + 'upload 123 not found'
    expect(oneLine(spaced)).toBe('Error: upload 123 not found')
    const coloured = 'Error:' + '\u001b[0m'.repeat(20_000) + ' upload 123 not found'
    expect(oneLine(coloured)).toBe('Error: upload 123 not found')
  })

  test('a lone half of a UTF-16 pair counts as one character of its own', () => {
    expect(Array.from(truncate('\ud800a'.repeat(10), 10))).toHaveLength(10)
    expect(Array.from(oneLine('\ud800x'.repeat(400)))).toHaveLength(MAX_MESSAGE_CHARS)
  })
})

describe('redact', () => {
  const key = '0123456789abcdef0123456789abcdef'

  test('every occurrence of every secret is replaced', () => {
    const out = redact(`a ${key} b ${key} c appkey-xyz`, [key, 'appkey-xyz'])
    expect(out).toBe('a *** b *** c ***')
  })

  test('the URL-encoded and JSON-escaped forms are replaced too', () => {
    const odd = 'ab+c/d=="q\\z'
    const text = `raw ${odd} url ${encodeURIComponent(odd)} json ${JSON.stringify(odd)}`
    const out = redact(text, [odd])
    expect(out).not.toContain(odd)
    expect(out).not.toContain(encodeURIComponent(odd))
    expect(out).not.toContain(JSON.stringify(odd).slice(1, -1))
    expect(out).toBe('raw *** url *** json "***"')
  })

  test('empty and very short secrets do not blank out ordinary text', () => {
    expect(redact('a b c', ['', 'a', 'b c'])).toBe('a b c')
  })

  // No piece of 8 characters of the key may survive, whatever form it took.
  const leaks = (out: string): string[] =>
    Array.from({ length: key.length - 7 }, (_, i) => key.slice(i, i + 8)).filter(piece =>
      out
        .toLowerCase()
        .replace(/[^a-z0-9]/g, '')
        .includes(piece)
    )
  const escaped = (s: string): string =>
    Array.from(s)
      .map(c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
      .join('')
  test.each([
    ['JSON \\u escapes', escaped(key)],
    ['ANSI codes between characters', Array.from(key).join('\u001b[31m')],
    [
      'HTML entities',
      Array.from(key)
        .map(c => `&#${c.charCodeAt(0)};`)
        .join('')
    ],
    [
      'hex HTML entities',
      Array.from(key)
        .map(c => `&#x${c.charCodeAt(0).toString(16)};`)
        .join('')
    ],
    ['spaces', key.match(/.{1,4}/g)!.join(' ')],
    ['newlines and NUL', key.match(/.{1,5}/g)!.join('\n\u0000')],
    ['zero-width characters', Array.from(key).join('\u200b')],
    ['HTML tags', key.match(/.{1,6}/g)!.join('<b></b>')],
    ['upper case', key.toUpperCase()],
    ['base64', Buffer.from(key).toString('base64')],
    ['base64 at an odd offset', Buffer.from(`x${key}`).toString('base64')],
    ['base64 at another offset', Buffer.from(`xy${key}`).toString('base64')],
    [
      'percent-encoding of every character',
      Array.from(key)
        .map(c => `%${c.charCodeAt(0).toString(16)}`)
        .join('')
    ],
    ['a piece of 9 characters', `key ${key.slice(3, 12)} end`]
  ])('a key carried as %s is replaced', (_, form) => {
    const out = redact(`Invalid key: ${form} (see docs)`, [key])
    expect(leaks(out)).toEqual([])
    expect(leaks(Buffer.from(out.replace(/[^A-Za-z0-9+/]/g, ''), 'base64').toString('latin1'))).toEqual([])
    expect(out).toMatch(/^Invalid key: .*\*\*\*.*\(see docs\)$/)
  })

  test('the text around a key is kept as it was', () => {
    expect(redact(`<p>Your key ${key.toUpperCase()} expired</p>`, [key])).toBe('<p>Your key *** expired</p>')
  })

  test('a key in JSON text between escaped quotes, or after a stretch of plain text, is replaced', () => {
    expect(redact(`{"errors":["bad key \\"${key}\\""]}`, [key])).toBe('{"errors":["bad key \\"***\\""]}')
    expect(redact(`${'plain words '.repeat(5000)}${key.slice(5, 15)}.`, [key])).toBe(
      `${'plain words '.repeat(5000)}***.`
    )
  })

  test('text without secrets is unchanged', () => {
    expect(redact('nothing to hide', [key])).toBe('nothing to hide')
  })

  test('a key deep in a long text of accented letters is found, and the letters around it kept', () => {
    const around = 'é'.repeat(60_000)
    const out = redact(`${around} ${key.toUpperCase()} ${around}`, [key])
    expect(out).toBe(`${around} *** ${around}`)
  })

  test('pieces of a key that touch or overlap become one ***', () => {
    expect(redact(`[${key.toUpperCase()}${key.toUpperCase()}]`, [key])).toBe('[***]')
    expect(redact(`[${key.slice(0, 12)}${key.slice(4)}]`, [key])).toBe('[***]')
  })

  test('letters beyond ASCII fold like their text: a key in Greek is found upper-cased', () => {
    const greek = 'αβγδεζηθικλμνξοπρστυφχψω'
    expect(redact(`key ${greek.toUpperCase()} end`, [greek])).toBe('key *** end')
  })
})

describe('one sanitizer for the log and the summary', () => {
  const hidden: Record<string, string> = {
    'zero-width space': '\u200b',
    'zero-width joiner': '\u200d',
    'word joiner': '\u2060',
    BOM: '\ufeff',
    'tag character': '\u{e0041}',
    'cancel tag': '\u{e007f}',
    'Arabic letter mark': '\u061c',
    'right-to-left override': '\u202e',
    'right-to-left isolate': '\u2067',
    'left-to-right mark': '\u200e',
    'line separator': '\u2028',
    'paragraph separator': '\u2029',
    NEL: '\u0085',
    'ANSI colour': '\u001b[31m',
    'C1 CSI': '\u009b1m',
    'OSC hyperlink': '\u001b]8;;https://evil.example\u0007',
    'OSC title ended by ST': '\u001b]0;title\u001b\\'
  }
  test.each(Object.entries(hidden))('%s is removed from log lines and summary cells', (_, char) => {
    const text = `safe${char}text`
    for (const out of [oneLine(text), markdownCell(text)]) {
      expect(out).toMatch(/^`?safe ?text`?$/)
      expect(hasControl(out)).toBe(false)
    }
  })

  test.each(Object.entries(hidden))('%s is written as its escape in a quoted value', (_, char) => {
    const out = quote(`safe${char}text`)
    expect(hasControl(out)).toBe(false)
    // Nothing is lost: read back as JSON, the quote is the value.
    expect(JSON.parse(out)).toBe(`safe${char}text`)
  })

  test('a quote is JSON: read back, it is the value as given', () => {
    const value = '1\u202e0 \u2028 "q" \\ \u0000 \u{e0041}'
    expect(quote(value)).toBe('"1\\u202e0 \\u2028 \\"q\\" \\\\ \\u0000 \\udb40\\udc41"')
    expect(JSON.parse(quote(value))).toBe(value)
  })
})

describe('markdownCell', () => {
  test.each([
    ['a|b', '`a\\|b`'],
    ['<script>alert(1)</script>', '`<script>alert(1)</script>`'],
    ['line1\nline2\r\n| x |', '`line1 line2 \\| x \\|`'],
    ['`code`', '`` `code` ``'],
    ['renew at https://example.com/x', '`renew at https://example.com/x`'],
    ['', '']
  ])('%j becomes %j', (input, expected) => {
    expect(markdownCell(input)).toBe(expected)
  })

  test('the cell is bounded before escaping', () => {
    const out = markdownCell('x'.repeat(1000), 50)
    expect(Array.from(out)).toHaveLength(52)
  })
})

describe('editDistance', () => {
  test.each([
    ['kitten', 'sitting', 3],
    ['', 'abc', 3],
    ['abc', '', 3],
    ['', '', 0],
    ['datadoghq.com', 'datadoghq.com', 0],
    ['datadoghq.co', 'datadoghq.com', 1],
    ['datadog.eu', 'datadoghq.eu', 2],
    ['flaw', 'lawn', 2]
  ])('%j → %j is %d', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d)
    expect(editDistance(b, a)).toBe(d)
  })
})
