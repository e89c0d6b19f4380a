// Untrusted text (server bodies, inputs echoed back) passes through here
// before it reaches a log line, an annotation, an output or the summary.

// CSI sequences (colours, cursor moves; ESC [ or the one-byte C1 form),
// OSC sequences (titles, hyperlinks) up to their terminator, and two-byte escapes.
const ANSI_ESCAPE =
  // eslint-disable-next-line no-control-regex
  /(?:\u001b\[|\u009b)[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]{0,2048}(?:\u0007|\u001b\\)?|\u001b[@-_]/g
// The one rule for characters that must never reach a log line as they are:
// C0/C1 controls (NEL among them), the Unicode line and paragraph separators
// (which some log viewers treat as line breaks), zero-width and bidi
// controls and the BOM (which make a line read differently from what it
// holds), and the invisible tag characters.
const CONTROL_CLASS =
  '[\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2069\\ufeff\\u{e0000}-\\u{e007f}]'
const CONTROL = new RegExp(CONTROL_CLASS, 'gu')
const HAS_CONTROL = new RegExp(CONTROL_CLASS, 'u')

/** The longest message, in characters, that any one error line carries. */
export const MAX_MESSAGE_CHARS = 500

export function hasControl(text: string): boolean {
  return HAS_CONTROL.test(text)
}

// How much of a long text oneLine cleans at first: enough for `max`
// characters once escape sequences and runs of spaces are gone, without a
// pass over (and copies of) a whole 64 KiB body for a line of 500. A text
// that is mostly spaces or escape codes is read further, four times as much
// each time, so what it says is never lost.
function firstWindow(max: number): number {
  return 4 * max + 256
}

/**
 * One line of printable text, at most `max` characters: control characters
 * and line breaks become spaces, so the text can never start a line of its
 * own and therefore never a workflow command.
 */
export function oneLine(text: string, max: number = MAX_MESSAGE_CHARS): string {
  for (let size = firstWindow(max); ; size *= 4) {
    if (text.length <= size) return truncate(clean(text), max)
    // A window never ends between the two halves of a character.
    const flat = clean(text.slice(0, isHighSurrogate(text.charCodeAt(size - 1)) ? size - 1 : size))
    // Twice `max` in UTF-16 units is more than `max` characters: enough.
    if (flat.length >= 2 * max) return truncate(flat, max)
  }
}

function clean(text: string): string {
  return text.replace(ANSI_ESCAPE, '').replace(CONTROL, ' ').replace(/\s+/g, ' ').trim()
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff
}

/** At most `max` characters (code points), the last one an ellipsis when cut. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text
  // Where the code point numbered `max - 1` starts, counting no further than needed.
  let at = 0
  let cut = 0
  for (let count = 0; at < text.length; count++) {
    if (count === Math.max(0, max - 1)) cut = at
    if (count === max) return text.slice(0, cut) + '…'
    // A pair counts as one character; a lone half counts as one of its own.
    at += isHighSurrogate(text.charCodeAt(at)) && isLowSurrogate(text.charCodeAt(at + 1)) ? 2 : 1
  }
  return text
}

/**
 * A short quote of a value, for messages about it: in double quotes, every
 * character of the control rule written as its \u escape, as JSON writes
 * the C0 ones. The reader sees what the value hides (a bidi override that
 * makes it read backwards, a line separator), and the log gets plain text.
 */
export function quote(text: string, max = 40): string {
  return JSON.stringify(truncate(text, max)).replace(CONTROL, escapeUnits)
}

function escapeUnits(character: string): string {
  return Array.from(
    { length: character.length },
    (_, i) => `\\u${character.charCodeAt(i).toString(16).padStart(4, '0')}`
  ).join('')
}

export function elapsed(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution)
    }
    previous = current
  }
  return previous[b.length] ?? 0
}

/**
 * Untrusted text as literal Markdown: a code span, inside which GitHub makes
 * no link, image, @mention, math or HTML of it. The fence is longer than any
 * run of backticks inside, so the span cannot be closed early; pipes are
 * escaped so a table cell keeps its borders (GFM removes that backslash
 * inside the span too).
 */
export function markdownCell(text: string, max = 200): string {
  const flat = oneLine(text, max)
  if (flat === '') return ''
  // A fence one backtick longer than any run inside shows backticks as they are.
  const longest = Math.max(0, ...Array.from(flat.matchAll(/`+/g), m => m[0].length))
  const fence = '`'.repeat(longest + 1)
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : ''
  return fence + pad + flat.replace(/\|/g, '\\|') + pad + fence
}

/**
 * Text the action wrote, whose `spans` in backticks show as code: it
 * becomes <code> elements and plain text escaped so that nothing turns into
 * a link, an image or HTML. Untrusted text goes through markdownCell.
 */
export function markdownCellWithCode(text: string, max = 200): string {
  const parts = oneLine(text, max).split('`')
  return parts
    .map((part, i) => {
      const escaped = escapeMarkdown(part)
      if (i === 0) return escaped
      if (i % 2 === 1 && i < parts.length - 1) return `<code>${escaped}</code>`
      return i % 2 === 1 ? `'${escaped}` : escaped
    })
    .join('')
}

function escapeMarkdown(text: string): string {
  return (
    text
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/\|/g, '\\|')
      // No link or image syntax: a message must not pull content into the page.
      .replace(/([[\]!])/g, '\\$1')
  )
}
