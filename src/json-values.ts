// Splits a text into the JSON values written one after another into it, as
// a shell script appends them: separated by white space, or by nothing at
// all (`}{`, since curl prints no final newline). One pass over the text,
// so a 16 MiB manifest costs no more than reading it.

/** One complete top-level value, parsed, or the reason it is not JSON. */
type JsonValue =
  | { readonly ok: true; readonly value: unknown; readonly offset: number }
  | { readonly ok: false; readonly error: string; readonly offset: number }

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

export interface JsonValues {
  readonly values: JsonValue[]
  readonly cut?: CutValue
}

const OPENERS: Record<string, string> = { '{': '}', '[': ']' }

// A manifest nests four levels at most (list, entry, presigned answer,
// params); parsing megabytes of nesting takes seconds no deadline can stop.
const MAX_DEPTH = 32

function isSpace(c: string): boolean {
  return c === ' ' || c === '\n' || c === '\r' || c === '\t' || c === '\uFEFF'
}

/** Where a scalar written at top level (`42`, `true`) ends. */
function scalarEnd(text: string, from: number): number {
  let i = from
  while (i < text.length) {
    const c = text[i] as string
    if (isSpace(c) || c in OPENERS || c === '"') break
    i++
  }
  return i
}

/** Where the string starting at `from` (its opening quote) ends, past its closing quote; -1 when it never closes. */
function stringEnd(text: string, from: number): number {
  for (let i = from + 1; i < text.length; i++) {
    const c = text[i]
    if (c === '\\') i++
    else if (c === '"') return i + 1
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
}

/** Scans the object or array that starts at `from`, tracking where it could be closed early. */
function scanContainer(text: string, from: number): Scan {
  const stack: string[] = []
  let safeEnd = from
  let safeDepth = 0
  let i = from
  while (i < text.length) {
    const c = text[i] as string
    if (c === '"') {
      const end = stringEnd(text, i)
      if (end === -1) break
      i = end
      continue
    }
    const closer = OPENERS[c]
    if (closer !== undefined) {
      if (stack.push(closer) > MAX_DEPTH) return { end: closingEnd(text, from), safeEnd, closers: '', tooDeep: true }
    } else if (c === '}' || c === ']') {
      stack.pop()
      if (stack.length === 0) return { end: i + 1, safeEnd: i + 1, closers: '' }
      // Closing a container completes a member of the one around it.
      safeEnd = i + 1
      safeDepth = stack.length
    } else if (c === ',') {
      // Everything before a comma is complete members; the containers below
      // this depth cannot change before the next safe point replaces this one.
      safeEnd = i
      safeDepth = stack.length
    }
    i++
  }
  const closers = stack.slice(0, safeDepth).reverse().join('')
  return { end: -1, safeEnd, closers }
}

/** Past the bracket that closes the one at `from`, or the text's end: counts only, no stack. */
function closingEnd(text: string, from: number): number {
  let depth = 0
  for (let i = from; i < text.length; i++) {
    const c = text[i] as string
    if (c === '"') {
      const end = stringEnd(text, i)
      if (end === -1) return text.length
      i = end - 1
    } else if (c in OPENERS) depth++
    else if ((c === '}' || c === ']') && --depth === 0) return i + 1
  }
  return text.length
}

function parse(text: string, offset: number): JsonValue {
  try {
    return { ok: true, value: JSON.parse(text) as unknown, offset }
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

/** Every value of `text` in order; a last value the text ends inside is returned apart, as `cut`. */
export function splitJsonValues(text: string): JsonValues {
  const values: JsonValue[] = []
  let i = 0
  while (i < text.length) {
    const c = text[i] as string
    if (isSpace(c)) {
      i++
      continue
    }
    let end: number
    if (c in OPENERS) {
      const scan = scanContainer(text, i)
      if (scan.tooDeep) {
        values.push({
          ok: false,
          error: `lists or objects nest more than ${MAX_DEPTH} levels deep; a manifest needs 4`,
          offset: i
        })
        i = scan.end
        continue
      }
      if (scan.end === -1) return { values, cut: { offset: i, text: text.slice(i), repaired: repair(text, i, scan) } }
      end = scan.end
    } else if (c === '"') {
      end = stringEnd(text, i)
      if (end === -1) return { values, cut: { offset: i, text: text.slice(i), repaired: undefined } }
    } else {
      // A closing bracket with nothing open is taken as a scalar, and refused as one.
      end = Math.max(scalarEnd(text, i), i + 1)
    }
    values.push(parse(text.slice(i, end), i))
    i = end
  }
  return { values }
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
