import { parseValue, topValues, type CutValue, type JsonValue } from './json-values.js'
import type { Problems } from '../settings/problems.js'
import { LIMITS } from '../settings/settings.js'
import { oneLine, quote } from '../text/text.js'

// A manifest's text to its entries, before any is checked: the values one
// at a time, each object or list element an entry, counted against the
// limit as it is read; in a file, text that is not JSON skipped with a
// warning.

/** Where a manifest's text came from, and so how it was written and how messages name it. */
export interface ManifestSource {
  readonly name: string
  /** `Input "uploads-file"`, or the guard's variable. */
  readonly label: string
  /** Appended to by scripts (a file), rather than written by hand (the `uploads` input). */
  readonly appended: boolean
}

/** A value of the manifest, or an element of a list value: `uploads-file value 3[0]`. */
interface Located {
  readonly where: string
  readonly entry: unknown
}

/** The entries of a manifest, not yet checked, and its last value when cut off. */
interface Values {
  readonly entries: Located[]
  readonly cut: CutValue | undefined
  /** How many whole values the text holds. */
  readonly values: number
}

/**
 * The entries of the manifest's values, counted as they are read: past
 * LIMITS.uploads the reading stops, and the values after are never parsed.
 * Undefined when there is nothing to check (any problem is recorded).
 */
export function readValues(problems: Problems, manifest: ManifestSource, text: string): Values | undefined {
  const { name, label, appended } = manifest
  const entries: Located[] = []
  // Text that does not even start like an object or a list (a log line, an
  // HTML error page a script appended) cannot be an answer that started an
  // upload: in a file, each run of it is skipped with one warning, unread.
  const runs = new TextRuns(problems, label, text)
  const scan = topValues(text)
  let next = scan.next()
  let counted = 0
  let n = 0
  while (!next.done) {
    const value = next.value
    // One value ahead: a lone value names its entries without a number.
    next = scan.next()
    n++
    if (appended && runs.take(value.offset)) continue
    // What could name an upload counts: an object, each element of a list, a value that is not JSON.
    counted += value.elements
    if (counted > LIMITS.uploads) {
      runs.end(value.offset)
      problems.error(
        `${label} has more than ${LIMITS.uploads} entries; at most ${LIMITS.uploads} are accepted in one step.`
      )
      return undefined
    }
    const several = n > 1 || !next.done || next.value !== undefined
    take(problems, { ...manifest, n, several }, parseValue(text, value), entries)
  }
  const cut = next.value
  if (n === 0 && !cut) {
    // A cleanup step whose manifest stayed empty has nothing to do: not an error.
    problems.warn(`${label} is empty: there is nothing to abort.`)
    return undefined
  }
  if (cut && !appended) return problems.error(`Input "${name}" is not valid JSON: it ends in the middle of a value.`)
  runs.end(cut?.offset ?? text.length)
  if (name === 'uploads-file' && runs.count > 0 && entries.length === 0 && !cut) {
    return problems.error(`${label} holds no JSON value: is it the file the uploads were written to?`)
  }
  return { entries, cut, values: n }
}

/** A value of the manifest: its number, and whether it is the only one. */
interface Place extends ManifestSource {
  readonly n: number
  readonly several: boolean
}

/** The entries of one value: itself, or the elements of a list. */
function take(problems: Problems, place: Place, parsed: JsonValue, entries: Located[]): void {
  const { label, n } = place
  const where = place.several ? `${place.name} value ${n}` : place.name
  if (!parsed.ok) {
    const at = place.several ? ` (value ${n}, at character ${parsed.offset})` : ''
    problems.error(`${label} is not valid JSON${at} (${oneLine(parsed.error, 120)}).`)
  } else if (Array.isArray(parsed.value)) {
    const list = parsed.value as unknown[]
    if (list.length === 0 && !place.several) problems.warn(`${label} is an empty list: there is nothing to abort.`)
    list.forEach((entry, index) => entries.push({ where: `${where}[${index}]`, entry }))
  } else {
    entries.push({ where, entry: parsed.value })
  }
}

/** Runs of text that is not JSON, each reported once. */
class TextRuns {
  private readonly problems: Problems
  private readonly label: string
  private readonly text: string
  private from: number | undefined
  count = 0

  constructor(problems: Problems, label: string, text: string) {
    this.problems = problems
    this.label = label
    this.text = text
  }

  /** Takes the value at `offset` into a run when it is text; false for an object or a list. */
  take(offset: number): boolean {
    const c = this.text[offset]
    if (c === '{' || c === '[') {
      this.end(offset)
      return false
    }
    this.from ??= offset
    return true
  }

  /** Ends the run in progress, if any, where the next value starts. */
  end(offset: number): void {
    if (this.from === undefined) return
    const piece = this.text.slice(this.from, offset).trim()
    this.problems.warn(
      `${this.label} holds text that is not JSON at character ${this.from} (${quote(oneLine(piece, 30), 12)}), perhaps an error page or a log line written to it: skipped. An upload it might name cannot be aborted.`
    )
    this.count++
    this.from = undefined
  }
}
