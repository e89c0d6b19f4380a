// The keys and the access token are the only secrets this action holds.
// GitHub masks only the exact strings registered with it; every other form
// of a secret that a server or an input could carry back (escaped, encoded,
// split, cut, upper-cased) is ours to catch.

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
  for (const form of indexOf(secrets).forms) {
    if (out.includes(form)) out = out.split(form).join('***')
  }
  return out
}

/** One folded character: its code point and where it stands in the text. */
type Visit = (code: number, start: number, end: number) => void

// The last SECRET_PIECE_CHARS folded characters, in a ring: a text is read
// once, and nothing is allocated for it unless a piece of a key is in it.
const ring = {
  codes: new Uint32Array(SECRET_PIECE_CHARS),
  starts: new Uint32Array(SECRET_PIECE_CHARS)
}

function redactPieces(text: string, secrets: readonly string[]): string {
  const index = indexOf(secrets)
  if (index.hashes.size === 0 || text.length < SECRET_PIECE_CHARS || plainAndClear(text, index)) return text
  // Stretches to replace, as [start, end) pairs of the text; touching ones are one.
  const stretches: number[] = []
  let seen = 0
  let coveredTo = -1
  fold(text, (code, start, end) => {
    const slot = seen % SECRET_PIECE_CHARS
    ring.codes[slot] = code
    ring.starts[slot] = start
    seen++
    if (seen < SECRET_PIECE_CHARS || !index.hashes.has(hashOfRing(seen))) return
    if (!index.pieces.has(pieceOfRing(seen))) return
    const first = seen - SECRET_PIECE_CHARS
    if (stretches.length > 0 && first <= coveredTo) stretches[stretches.length - 1] = end
    else stretches.push(ring.starts[seen % SECRET_PIECE_CHARS] ?? start, end)
    coveredTo = seen
  })
  if (stretches.length === 0) return text
  let out = ''
  let from = 0
  for (let i = 0; i < stretches.length; i += 2) {
    out += text.slice(from, stretches[i]) + '***'
    from = stretches[i + 1] ?? text.length
  }
  return out + text.slice(from)
}

// The weight of a window's oldest character in its hash (31^7): what a
// rolling hash takes off as the window moves on.
const OLDEST_WEIGHT = Math.imul(Math.imul(31 * 31 * 31, 31 * 31 * 31), 31)

/**
 * The common case in one tight pass: a text of plain ASCII, with no escape,
 * entity, tag or ANSI code, whose letters and digits make no window a piece
 * of a secret hashes to. fold() would visit the same characters, so such a
 * text holds no piece; any other text takes the full reading.
 */
function plainAndClear(text: string, index: SecretIndex): boolean {
  let seen = 0
  let hash = 0
  for (let at = 0; at < text.length; at++) {
    const code = text.charCodeAt(at)
    if ((code >= 48 && code <= 57) || (code >= 97 && code <= 122) || (code >= 65 && code <= 90)) {
      const slot = seen % SECRET_PIECE_CHARS
      const gone = seen < SECRET_PIECE_CHARS ? 0 : (ring.codes[slot] ?? 0)
      hash = (Math.imul(hash - Math.imul(gone, OLDEST_WEIGHT), 31) + (code | 0x20)) | 0
      ring.codes[slot] = code | 0x20
      if (++seen >= SECRET_PIECE_CHARS && mayBePiece(index, hash) && index.hashes.has(hash)) return false
    } else if (code > 127 || mayOpenToken(text, at, code)) {
      return false
    }
  }
  return true
}

/** Whether the ASCII character at `at` may open a token fold() reads as something else; a backslash does only before u or x (a JSON `\\"` is plain). */
function mayOpenToken(text: string, at: number, code: number): boolean {
  if (code !== 0x5c) return OPENERS.has(code)
  const next = text.charCodeAt(at + 1)
  return next === 0x75 || next === 0x78
}

/** The hash of the ring's window, oldest first, once `seen` characters have gone in. */
function hashOfRing(seen: number): number {
  let hash = 0
  for (let k = 0; k < SECRET_PIECE_CHARS; k++) {
    hash = (Math.imul(hash, 31) + (ring.codes[(seen + k) % SECRET_PIECE_CHARS] ?? 0)) | 0
  }
  return hash
}

function pieceOfRing(seen: number): string {
  let piece = ''
  for (let k = 0; k < SECRET_PIECE_CHARS; k++) {
    piece += String.fromCodePoint(ring.codes[(seen + k) % SECRET_PIECE_CHARS] ?? 0)
  }
  return piece
}

// At a character that may open one, a token that is not read as it stands:
// a separator that hides nothing (an HTML tag, an ANSI code, a named entity)
// or an escape that stands for one character.
const TOKEN =
  // eslint-disable-next-line no-control-regex
  /<\/?[A-Za-z][^<>]{0,200}>|\u001b\[[0-?]*[ -/]*[@-~]|&[A-Za-z]{2,8};|\\u\{([0-9A-Fa-f]{1,6})\}|\\u([0-9A-Fa-f]{4})|\\x([0-9A-Fa-f]{2})|%([0-9A-Fa-f]{2})|&#[xX]([0-9A-Fa-f]{1,6});|&#(\d{1,7});/y
// '<', ESC, '&', '\\', '%'
const OPENERS = new Set([0x3c, 0x1b, 0x26, 0x5c, 0x25])
const LETTER_OR_DIGIT = /^[\p{L}\p{N}]$/u

/**
 * Reads the text as a reader would decode it, and visits its letters and
 * digits lower-cased, with where each stands; everything else is skipped.
 */
function fold(text: string, visit: Visit): void {
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
      TOKEN.lastIndex = at
      const match = TOKEN.exec(text)
      if (match) {
        const [token, ...codes] = match
        const hex = codes.slice(0, 5).find(c => c !== undefined)
        const decimal = codes[5]
        const point = hex !== undefined ? parseInt(hex, 16) : decimal !== undefined ? Number(decimal) : undefined
        if (point !== undefined && point <= 0x10ffff) visitFolded(point, at, at + token.length, visit)
        at += token.length
        continue
      }
    }
    const point = text.codePointAt(at) ?? code
    const size = point > 0xffff ? 2 : 1
    if (code > 127) visitFolded(point, at, at + size, visit)
    at += size
  }
}

// What each code point below this folds to, once looked up: -1 for not a
// letter or digit, -2 for one that lower-cases to more than one.
const CACHED_BELOW = 0x800
const folds = new Int32Array(CACHED_BELOW)

/** A code point, if it is a letter or a digit, lower-cased (into one or more). */
function visitFolded(point: number, start: number, end: number, visit: Visit): void {
  const cached = point < CACHED_BELOW ? (folds[point] ?? 0) : 0
  if (cached === -1) return
  if (cached > 0) return visit(cached, start, end)
  const char = String.fromCodePoint(point)
  const lower = LETTER_OR_DIGIT.test(char) ? char.toLowerCase() : ''
  const single = lower.length > 0 && lower === String.fromCodePoint(lower.codePointAt(0) ?? 0)
  if (point < CACHED_BELOW) folds[point] = lower === '' ? -1 : single ? (lower.codePointAt(0) ?? 0) : -2
  for (const unit of lower) visit(unit.codePointAt(0) ?? 0, start, end)
}

/** What the secrets are compared by, worked out once for a set of secrets. */
interface SecretIndex {
  /** Each secret as it stands, URL-encoded and JSON-escaped: longest secret first. */
  readonly forms: readonly string[]
  /** Every piece of each secret, and of each of its three base64 alignments, folded as the text is. */
  readonly pieces: Set<string>
  /** Their hashes, to pass over a window without making a string of it. */
  readonly hashes: Set<number>
  /** The same hashes as bits, for the tight pass: a bit not set is a hash not there, without a look-up. */
  readonly filter: Uint8Array
}

const FILTER_BYTES = 1 << 13

function mayBePiece(index: SecretIndex, hash: number): boolean {
  return ((index.filter[(hash >>> 3) & (FILTER_BYTES - 1)] ?? 0) & (1 << (hash & 7))) !== 0
}

let memo: { secrets: readonly string[]; key: string; index: SecretIndex } | undefined

function indexOf(secrets: readonly string[]): SecretIndex {
  // The shell's last net passes the same list each time: known without joining it.
  if (memo?.secrets === secrets) return memo.index
  const key = secrets.join('\u0000')
  if (memo?.key === key) return memo.index
  const forms = secretsOf(secrets)
    .filter(secret => secret.length >= SECRET_PIECE_CHARS)
    .flatMap(secret => [...new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)])])
  const pieces = new Set<string>()
  const hashes = new Set<number>()
  for (const secret of secrets) {
    for (const form of [secret, ...base64Forms(secret)]) {
      let seen = 0
      fold(form, code => {
        ring.codes[seen++ % SECRET_PIECE_CHARS] = code
        if (seen < SECRET_PIECE_CHARS) return
        pieces.add(pieceOfRing(seen))
        hashes.add(hashOfRing(seen))
      })
    }
  }
  const filter = new Uint8Array(FILTER_BYTES)
  for (const hash of hashes) {
    const at = (hash >>> 3) & (FILTER_BYTES - 1)
    filter[at] = (filter[at] ?? 0) | (1 << (hash & 7))
  }
  memo = { secrets, key, index: { forms, pieces, hashes, filter } }
  return memo.index
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
