// Untrusted text (server bodies, inputs echoed back) passes through here
// before it reaches a log line, an annotation, an output or the summary.

// eslint-disable-next-line no-control-regex
const ANSI_ESCAPE = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b[@-_]/g
// C0/C1 controls, the Unicode line and paragraph separators (which some log
// viewers treat as line breaks) and the bidirectional overrides (which can
// make a line read differently from what it holds).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

export const MAX_MESSAGE_CHARS = 500

/**
 * One line of printable text, at most `max` characters: control characters
 * and line breaks become spaces, so the text can never start a line of its
 * own and therefore never a workflow command.
 */
export function oneLine(text: string, max: number = MAX_MESSAGE_CHARS): string {
  const flat = text.replace(ANSI_ESCAPE, '').replace(CONTROL, ' ').replace(/\s+/g, ' ').trim()
  return truncate(flat, max)
}

export function truncate(text: string, max: number): string {
  if (text.length <= max) return text
  const chars = Array.from(text)
  if (chars.length <= max) return text
  return chars.slice(0, Math.max(0, max - 1)).join('') + '…'
}

/**
 * Replaces every occurrence of each secret, as written, URL-encoded or JSON
 * escaped. With `cut`, the text was cut short: a beginning of a secret at
 * its very end goes too, since the runner masks only whole secrets.
 */
export function redact(text: string, secrets: readonly string[], cut = false): string {
  let out = text
  // Longest first, so a secret that contains another is replaced whole.
  const ordered = [...secrets].sort((a, b) => b.length - a.length)
  for (const secret of ordered) {
    if (secret.length < 4) continue
    for (const form of new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)])) {
      out = out.split(form).join('***')
    }
  }
  if (cut) {
    for (const secret of ordered) {
      for (let n = secret.length - 1; n >= 4; n--) {
        if (out.endsWith(secret.slice(0, n))) {
          out = out.slice(0, out.length - n) + '***'
          break
        }
      }
    }
  }
  return out
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

/** Escapes text for a Markdown table cell. */
export function markdownCell(text: string, max = 200): string {
  return (
    oneLine(text, max)
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/\|/g, '\\|')
      .replace(/`/g, "'")
      // No link or image syntax: server text must not pull content into the page.
      .replace(/([[\]!])/g, '\\$1')
  )
}
