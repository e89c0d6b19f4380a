// The keys are the only secrets this action holds. GitHub masks only the
// exact strings registered with it; every other form of a key that a
// server or an input could carry back is ours to catch.

/** The secrets to mask and redact, from whatever values may hold a key: trimmed, non-empty, longest first. */
export function secretsOf(values: readonly (string | undefined)[]): string[] {
  const set = new Set(values.map(v => (v ?? '').trim()).filter(v => v !== ''))
  // Longest first, so a secret that contains another is replaced whole.
  return [...set].sort((a, b) => b.length - a.length)
}

/**
 * Replaces every occurrence of each secret, as written, URL-encoded or JSON
 * escaped. With `cut`, the text was cut short: a beginning of a secret at
 * its very end goes too, since the runner masks only whole secrets.
 */
export function redact(text: string, secrets: readonly string[], cut = false): string {
  let out = text
  const ordered = secretsOf(secrets)
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
