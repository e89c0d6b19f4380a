// A text as a reader would decode it (JSON, percent and HTML escapes
// decoded), with only its letters and digits, lower-cased: how the redaction
// compares a text with the secrets.

/** One folded character: its code point and where it stands in the text. */
export type Visit = (code: number, start: number, end: number) => void

// At a character that may open one, a token that is not read as it stands:
// a separator that hides nothing (an HTML tag, an ANSI code, a named entity)
// or an escape that stands for one character.
const TOKEN_SOURCE =
  // eslint-disable-next-line no-control-regex
  /<\/?[A-Za-z][^<>]{0,200}>|\u001b\[[0-?]*[ -/]*[@-~]|&[A-Za-z]{2,8};|\\u\{([0-9A-Fa-f]{1,6})\}|\\u([0-9A-Fa-f]{4})|\\x([0-9A-Fa-f]{2})|%([0-9A-Fa-f]{2})|&#[xX]([0-9A-Fa-f]{1,6});|&#(\d{1,7});/
// '<', ESC, '&', '\\', '%'
const OPENERS = new Set([0x3c, 0x1b, 0x26, 0x5c, 0x25])
const LETTER_OR_DIGIT = /^[\p{L}\p{N}]$/u

/**
 * Reads the text as a reader would decode it, and visits its letters and
 * digits lower-cased, with where each stands; everything else is skipped.
 */
export function fold(text: string, folder: Folder, visit: Visit): void {
  const { token: pattern, folds } = folder
  const visitFolded = (point: number, start: number, end: number): void => {
    const folded = foldPoint(point, folds)
    if (typeof folded === 'number') return visit(folded, start, end)
    for (const unit of folded) visit(unit.codePointAt(0) ?? 0, start, end)
  }
  for (let at = 0; at < text.length;) {
    const code = text.charCodeAt(at)
    // The common case first: plain ASCII, no regular expression.
    if ((code >= 48 && code <= 57) || (code >= 97 && code <= 122) || (code >= 65 && code <= 90)) {
      // ASCII letters fold by one bit; digits already have it set.
      visit(code | 0x20, at, at + 1)
      at++
      continue
    }
    if (OPENERS.has(code)) {
      pattern.lastIndex = at
      const match = pattern.exec(text)
      if (match) {
        const [token, ...codes] = match
        const hex = codes.slice(0, 5).find(c => c !== undefined)
        const decimal = codes[5]
        const point = hex !== undefined ? parseInt(hex, 16) : decimal !== undefined ? Number(decimal) : undefined
        if (point !== undefined && point <= 0x10ffff) visitFolded(point, at, at + token.length)
        at += token.length
        continue
      }
    }
    const point = text.codePointAt(at) ?? code
    const size = point > 0xffff ? 2 : 1
    if (code > 127) visitFolded(point, at, at + size)
    at += size
  }
}

// What each code point below this folds to, once looked up: -1 for not a
// letter or digit, -2 for one that lower-cases to more than one.
const CACHED_BELOW = 0x800
/** What folding a text keeps between characters: its cache of folded code points, its sticky token pattern. */
export interface Folder {
  readonly folds: Int32Array
  readonly token: RegExp
}

export function newFolder(): Folder {
  return { folds: new Int32Array(CACHED_BELOW), token: new RegExp(TOKEN_SOURCE.source, 'y') }
}

/** A code point, if it is a letter or a digit, lower-cased: one code point, or the text of several; '' when neither. */
function foldPoint(point: number, folds: Int32Array): number | string {
  const cached = point < CACHED_BELOW ? (folds[point] ?? 0) : 0
  if (cached === -1) return ''
  if (cached > 0) return cached
  const char = String.fromCodePoint(point)
  const lower = LETTER_OR_DIGIT.test(char) ? char.toLowerCase() : ''
  const single = lower.length > 0 && lower === String.fromCodePoint(lower.codePointAt(0) ?? 0)
  if (point < CACHED_BELOW) folds[point] = lower === '' ? -1 : single ? (lower.codePointAt(0) ?? 0) : -2
  return lower
}

/** Whether the ASCII character at `at` may open a token fold() reads as something else; a backslash does only before u or x (a JSON `\\"` is plain). */
export function mayOpenToken(text: string, at: number, code: number): boolean {
  if (code !== 0x5c) return OPENERS.has(code)
  const next = text.charCodeAt(at + 1)
  return next === 0x75 || next === 0x78
}
