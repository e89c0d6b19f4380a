// The keys and the access token are the only secrets this action holds.
// GitHub masks only the exact strings registered with it; every other form
// of a secret that a server or an input could carry back (escaped, encoded,
// split, cut, upper-cased) is ours to catch.
import { fold, mayOpenToken, newFolder, type Folder } from './fold.js'

/** The shortest piece of a key that must never be shown. */
const SECRET_PIECE_CHARS = 8

/** The secrets to mask and redact, from whatever values may hold a key: trimmed, non-empty, longest first. */
export function secretsOf(values: readonly (string | undefined)[]): string[] {
  const set = new Set(values.map(v => (v ?? '').trim()).filter(v => v !== ''))
  return [...set].sort((a, b) => b.length - a.length)
}

/** Hides every piece of the secrets in a text. */
export type Redact = (text: string) => string

/** Hides the secrets it was made for in any text. */
export interface Redactor {
  /**
   * Replaces with `***` every stretch of the text that holds a piece of
   * SECRET_PIECE_CHARS or more characters of a secret, or of its base64 form.
   * The text is compared as a reader would decode it (JSON, percent and HTML
   * escapes decoded), case-folded, with everything but letters and digits
   * ignored (spaces, line breaks, NUL, invisible characters, HTML tags, ANSI
   * codes): a key split or encoded by a server is still found.
   */
  readonly redact: Redact
}

/** A redactor of `secrets`: what they are compared by is worked out once, here. */
export function createRedactor(secrets: readonly string[]): Redactor {
  const ring = newRing()
  const folder = newFolder()
  const index = indexOf(secrets, ring, folder)
  return { redact: text => hidePieces(hideWhole(text, index), index, ring, folder) }
}

/** A key of mostly punctuation has few letters and digits to compare: its exact forms go first. */
function hideWhole(text: string, index: SecretIndex): string {
  let out = text
  for (const form of index.forms) {
    if (out.includes(form)) out = out.split(form).join('***')
  }
  return out
}

// The last SECRET_PIECE_CHARS folded characters, in a ring: a text is read
// once, and nothing is allocated for it unless a piece of a key is in it.
interface Ring {
  readonly codes: Uint32Array
  readonly starts: Uint32Array
}

function newRing(): Ring {
  return { codes: new Uint32Array(SECRET_PIECE_CHARS), starts: new Uint32Array(SECRET_PIECE_CHARS) }
}

function hidePieces(text: string, index: SecretIndex, ring: Ring, folder: Folder): string {
  if (index.hashes.size === 0 || text.length < SECRET_PIECE_CHARS || plainAndClear(text, index, ring)) return text
  // Stretches to replace, as [start, end) pairs of the text; touching ones are one.
  const stretches: number[] = []
  let seen = 0
  let coveredTo = -1
  fold(text, folder, (code, start, end) => {
    const slot = seen % SECRET_PIECE_CHARS
    ring.codes[slot] = code
    ring.starts[slot] = start
    seen++
    if (seen < SECRET_PIECE_CHARS || !index.hashes.has(hashOfRing(ring, seen))) return
    if (!index.pieces.has(pieceOfRing(ring, seen))) return
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
function plainAndClear(text: string, index: SecretIndex, ring: Ring): boolean {
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

/** The hash of the ring's window, oldest first, once `seen` characters have gone in. */
function hashOfRing(ring: Ring, seen: number): number {
  let hash = 0
  for (let k = 0; k < SECRET_PIECE_CHARS; k++) {
    hash = (Math.imul(hash, 31) + (ring.codes[(seen + k) % SECRET_PIECE_CHARS] ?? 0)) | 0
  }
  return hash
}

function pieceOfRing(ring: Ring, seen: number): string {
  let piece = ''
  for (let k = 0; k < SECRET_PIECE_CHARS; k++) {
    piece += String.fromCodePoint(ring.codes[(seen + k) % SECRET_PIECE_CHARS] ?? 0)
  }
  return piece
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

function indexOf(secrets: readonly string[], ring: Ring, folder: Folder): SecretIndex {
  const forms = secretsOf(secrets)
    .filter(secret => secret.length >= SECRET_PIECE_CHARS)
    .flatMap(secret => [...new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)])])
  const pieces = new Set<string>()
  const hashes = new Set<number>()
  for (const secret of secrets) {
    for (const form of [secret, ...base64Forms(secret)]) {
      let seen = 0
      fold(form, folder, code => {
        ring.codes[seen++ % SECRET_PIECE_CHARS] = code
        if (seen < SECRET_PIECE_CHARS) return
        pieces.add(pieceOfRing(ring, seen))
        hashes.add(hashOfRing(ring, seen))
      })
    }
  }
  const filter = new Uint8Array(FILTER_BYTES)
  for (const hash of hashes) {
    const at = (hash >>> 3) & (FILTER_BYTES - 1)
    filter[at] = (filter[at] ?? 0) | (1 << (hash & 7))
  }
  return { forms, pieces, hashes, filter }
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
