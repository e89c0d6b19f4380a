// The keys are the only secrets this action holds. GitHub masks only the
// exact strings registered with it; every other form of a key that a
// server or an input could carry back (escaped, encoded, split, cut,
// upper-cased) is ours to catch.

/** The shortest piece of a key that must never be shown. */
const SECRET_PIECE_CHARS = 8

/** The secrets to mask and redact, from whatever values may hold a key: trimmed, non-empty, longest first. */
export function secretsOf(values: readonly (string | undefined)[]): string[] {
  const set = new Set(values.map(v => (v ?? '').trim()).filter(v => v !== ''))
  return [...set].sort((a, b) => b.length - a.length)
}

/**
 * Replaces with `***` every stretch of the text that holds a piece of
 * SECRET_PIECE_CHARS or more characters of a secret, or of its base64 form.
 * The text is compared as a reader would decode it (JSON, percent and HTML
 * escapes decoded), case-folded, with everything but letters and digits
 * ignored (spaces, line breaks, NUL, invisible characters, HTML tags, ANSI
 * codes): a key split or encoded by a server is still found.
 */
export function redact(text: string, secrets: readonly string[]): string {
  return redactPieces(redactWhole(text, secrets), secrets)
}

/** A key of mostly punctuation has few letters and digits to compare: its exact forms go first. */
function redactWhole(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secretsOf(secrets)) {
    if (secret.length < SECRET_PIECE_CHARS) continue
    for (const form of new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)])) {
      out = out.split(form).join('***')
    }
  }
  return out
}

function redactPieces(text: string, secrets: readonly string[]): string {
  const pieces = piecesOf(secrets)
  if (pieces.size === 0 || text.length < SECRET_PIECE_CHARS) return text
  const folded = fold(text)
  const covered = new Uint8Array(folded.chars.length)
  for (let i = 0; i + SECRET_PIECE_CHARS <= folded.chars.length; i++) {
    if (pieces.has(folded.chars.slice(i, i + SECRET_PIECE_CHARS))) covered.fill(1, i, i + SECRET_PIECE_CHARS)
  }
  let out = ''
  let from = 0
  for (let i = 0; i < covered.length; i++) {
    if (!covered[i]) continue
    let last = i
    while (last + 1 < covered.length && covered[last + 1]) last++
    out += text.slice(from, folded.starts[i]) + '***'
    from = folded.ends[last] ?? text.length
    i = last
  }
  return from === 0 ? text : out + text.slice(from)
}

interface Folded {
  /** Lower-cased letters and digits only. */
  readonly chars: string
  /** Where each of them starts and ends in the original text. */
  readonly starts: Uint32Array
  readonly ends: Uint32Array
}

// At a character that may open one, a token that is not read as it stands:
// a separator that hides nothing (an HTML tag, an ANSI code, a named entity)
// or an escape that stands for one character.
const TOKEN =
  // eslint-disable-next-line no-control-regex
  /<\/?[A-Za-z][^<>]{0,200}>|\u001b\[[0-?]*[ -/]*[@-~]|&[A-Za-z]{2,8};|\\u\{([0-9A-Fa-f]{1,6})\}|\\u([0-9A-Fa-f]{4})|\\x([0-9A-Fa-f]{2})|%([0-9A-Fa-f]{2})|&#[xX]([0-9A-Fa-f]{1,6});|&#(\d{1,7});/y
const OPENERS = new Set(['<', '\u001b', '&', '\\', '%'])
const LETTER_OR_DIGIT = /^[\p{L}\p{N}]$/u

function fold(text: string): Folded {
  const chars: string[] = []
  // Lower-casing turns a few characters into two.
  const starts = new Uint32Array(2 * text.length)
  const ends = new Uint32Array(2 * text.length)
  const keep = (char: string, start: number, end: number): void => {
    for (const unit of char.toLowerCase()) {
      starts[chars.length] = start
      ends[chars.length] = end
      chars.push(unit)
    }
  }
  for (let at = 0; at < text.length;) {
    const code = text.charCodeAt(at)
    // The common case first: plain ASCII, no regular expression.
    if ((code >= 48 && code <= 57) || (code >= 97 && code <= 122) || (code >= 65 && code <= 90)) {
      starts[chars.length] = at
      ends[chars.length] = at + 1
      // ASCII letters fold by one bit; digits already have it set.
      chars.push(String.fromCharCode(code | 0x20))
      at++
      continue
    }
    if (OPENERS.has(text[at] as string)) {
      TOKEN.lastIndex = at
      const match = TOKEN.exec(text)
      if (match) {
        const [token, ...codes] = match
        const hex = codes.slice(0, 5).find(c => c !== undefined)
        const decimal = codes[5]
        const point = hex !== undefined ? parseInt(hex, 16) : decimal !== undefined ? Number(decimal) : undefined
        const char = point !== undefined && point <= 0x10ffff ? String.fromCodePoint(point) : ''
        if (LETTER_OR_DIGIT.test(char)) keep(char, at, at + token.length)
        at += token.length
        continue
      }
    }
    const char = String.fromCodePoint(text.codePointAt(at) ?? 0)
    if (code > 127 && LETTER_OR_DIGIT.test(char)) keep(char, at, at + char.length)
    at += char.length
  }
  return { chars: chars.join(''), starts, ends }
}

let memo: { key: string; pieces: Set<string> } | undefined

/** Every piece of each secret, and of each of its three base64 alignments, folded as the text is. */
function piecesOf(secrets: readonly string[]): Set<string> {
  const key = secrets.join('\u0000')
  if (memo?.key === key) return memo.pieces
  const pieces = new Set<string>()
  for (const secret of secrets) {
    for (const form of [secret, ...base64Forms(secret)]) {
      const chars = fold(form).chars
      for (let i = 0; i + SECRET_PIECE_CHARS <= chars.length; i++) pieces.add(chars.slice(i, i + SECRET_PIECE_CHARS))
    }
  }
  memo = { key, pieces }
  return pieces
}

/** The key's base64 as it reads wherever it starts in the encoded stream, without the edge characters that depend on its neighbours. */
function base64Forms(secret: string): string[] {
  return [0, 1, 2].map(offset => {
    const encoded = Buffer.from('\u0000'.repeat(offset) + secret, 'utf8')
      .toString('base64')
      .replace(/=+$/, '')
    return encoded.slice(Math.ceil((offset * 4) / 3), -2)
  })
}
