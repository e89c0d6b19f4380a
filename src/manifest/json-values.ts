// Finds the JSON values written one after another into a text, as a shell
// script appends them: separated by white space, or by nothing at all
// (`}{`, since curl prints no final newline). One pass over the text, one
// value at a time, each parsed only when asked: a reader that has seen
// enough stops, and never pays for the rest of a 16 MiB manifest.

/** A value of the text, parsed, or the reason it is not JSON. */
export type JsonValue =
  | { readonly ok: true; readonly value: unknown; readonly offset: number }
  | { readonly ok: false; readonly error: string; readonly offset: number }

/** A whole top-level value, as the scan found it, not parsed yet. */
export interface TopValue {
  readonly offset: number
  /** Past its last character. */
  readonly end: number
  /**
   * How many elements a list holds, counted by the scan (a list that is not
   * JSON may be miscounted); 1 for any other value.
   */
  readonly elements: number
  /** Why it is not JSON, when the scan alone tells. */
  readonly fault?: string
}

/** The last value, when the text ends in the middle of it. */
export interface CutValue {
  readonly offset: number
  /** The text of the value as far as it goes. */
  readonly text: string
  /**
   * The value closed at its last complete member, when one was complete:
   * `{"a":"x","b":"y` becomes `{"a":"x"}`.
   */
  readonly repaired: unknown
}

// The text is read as UTF-16 codes: a one-character string per position
// made the scan of a 16 MiB text several times slower.
const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const OPEN_LIST = 0x5b
const CLOSE_LIST = 0x5d

function isOpener(code: number): boolean {
  return code === OPEN_OBJECT || code === OPEN_LIST
}

function isCloser(code: number): boolean {
  return code === CLOSE_OBJECT || code === CLOSE_LIST
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09 || code === 0xfeff
}

// A manifest nests four levels at most (list, entry, presigned answer,
// params); parsing megabytes of nesting takes seconds no deadline can stop.
const MAX_DEPTH = 32
const TOO_DEEP = `lists or objects nest more than ${MAX_DEPTH} levels deep; a manifest needs 4`

/** Where a scalar written at top level (`42`, `true`) ends. */
function scalarEnd(text: string, from: number): number {
  let i = from
  while (i < text.length) {
    const c = text.charCodeAt(i)
    if (isSpace(c) || isOpener(c) || c === QUOTE) break
    i++
  }
  return i
}

/** Where the string starting at `from` (its opening quote) ends, past its closing quote; -1 when it never closes. */
function stringEnd(text: string, from: number): number {
  for (let i = from + 1; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === BACKSLASH) i++
    else if (c === QUOTE) return i + 1
  }
  return -1
}

interface Scan {
  /** Past the value's end; -1 when the text ends first. */
  readonly end: number
  /** Lists and objects nested deeper than MAX_DEPTH. */
  readonly tooDeep?: boolean
  /** Past the last complete member, and how many containers were open there. */
  readonly safeEnd: number
  readonly closers: string
  /** What stands between the top-level commas: a list's elements. */
  readonly elements: number
}

/** Scans the object or array that starts at `from`, tracking where it could be closed early. */
function scanContainer(text: string, from: number): Scan {
  const stack: string[] = []
  let safeEnd = from
  let safeDepth = 0
  let elements = 0
  let inElement = false
  let i = from
  while (i < text.length) {
    const c = text.charCodeAt(i)
    // A list's elements are counted here, so that a list of millions can be refused unparsed.
    if (stack.length === 1 && !inElement && c !== COMMA && !isCloser(c) && !isSpace(c)) {
      elements++
      inElement = true
    }
    if (c === QUOTE) {
      const end = stringEnd(text, i)
      if (end === -1) break
      i = end
      continue
    }
    if (isOpener(c)) {
      if (stack.push(c === OPEN_OBJECT ? '}' : ']') > MAX_DEPTH)
        return { end: closingEnd(text, from), safeEnd, closers: '', elements, tooDeep: true }
    } else if (isCloser(c)) {
      stack.pop()
      if (stack.length === 0) return { end: i + 1, safeEnd: i + 1, closers: '', elements }
      // Closing a container completes a member of the one around it.
      safeEnd = i + 1
      safeDepth = stack.length
    } else if (c === COMMA) {
      // Everything before a comma is complete members; the containers below
      // this depth cannot change before the next safe point replaces this one.
      safeEnd = i
      safeDepth = stack.length
      if (stack.length === 1) inElement = false
    }
    i++
  }
  const closers = stack.slice(0, safeDepth).reverse().join('')
  return { end: -1, safeEnd, closers, elements }
}

/** Past the bracket that closes the one at `from`, or the text's end: counts only, no stack. */
function closingEnd(text: string, from: number): number {
  let depth = 0
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      const end = stringEnd(text, i)
      if (end === -1) return text.length
      i = end - 1
    } else if (isOpener(c)) depth++
    else if (isCloser(c) && --depth === 0) return i + 1
  }
  return text.length
}

/** The value the scan found, parsed. */
export function parseValue(text: string, found: TopValue): JsonValue {
  const { offset } = found
  if (found.fault !== undefined) return { ok: false, error: found.fault, offset }
  try {
    return { ok: true, value: JSON.parse(text.slice(offset, found.end)) as unknown, offset }
  } catch (error) {
    // The parser quotes the text around the fault: a key pasted there would go along.
    return { ok: false, error: (error as Error).message.replace(/, ".*" is not valid JSON$/s, ''), offset }
  }
}

function repair(text: string, from: number, scan: Scan): unknown {
  if (scan.safeEnd <= from) return undefined
  try {
    return JSON.parse(text.slice(from, scan.safeEnd) + scan.closers) as unknown
  } catch {
    return undefined
  }
}

/**
 * The whole values of `text` in order, found one at a time; the generator
 * returns the last value when the text ends inside it.
 */
export function* topValues(text: string): Generator<TopValue, CutValue | undefined, void> {
  let i = 0
  while (i < text.length) {
    const c = text.charCodeAt(i)
    if (isSpace(c)) {
      i++
      continue
    }
    if (isOpener(c)) {
      const scan = scanContainer(text, i)
      if (scan.end === -1) return { offset: i, text: text.slice(i), repaired: repair(text, i, scan) }
      const fault = scan.tooDeep ? TOO_DEEP : undefined
      yield { offset: i, end: scan.end, elements: c === OPEN_LIST ? scan.elements : 1, fault }
      i = scan.end
      continue
    }
    // A closing bracket with nothing open is taken as a scalar, and refused as one.
    const end = c === QUOTE ? stringEnd(text, i) : Math.max(scalarEnd(text, i), i + 1)
    if (end === -1) return { offset: i, text: text.slice(i), repaired: undefined }
    yield { offset: i, end, elements: 1 }
    i = end
  }
  return undefined
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The kind of a parsed JSON value, for messages that must not quote it. */
export function describeJson(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  return typeof value === 'string' ? 'a string' : `a ${typeof value}`
}
