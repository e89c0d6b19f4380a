import type { CutValue } from './json-values.js'
import { parseEntry, type Parsed } from './entry.js'
import { readValues, type ManifestSource } from './values.js'
import { Problems } from '../settings/problems.js'
import type { Upload } from '../settings/settings.js'
import { plural, quote } from '../text/text.js'

// The uploads manifest: the `uploads` input, the `uploads-file` file or the
// guard's manifest. It holds entries (`{testId?, key, uploadId}`), Datadog's
// presigned-URLs answers as received or as its TypeScript client serializes
// them, lists of any of these, and completion marks
// (`{"completed": <entry>}`): one value, or many written one after another.
// A file is appended to by scripts that may be killed mid-write, so there a
// cut-off last value is skipped with a warning, and an empty file is no
// error; in the `uploads` input, written by hand, both are errors.

/** What a manifest names, once completion marks are applied. */
export interface ManifestUploads {
  /** The uploads to abort: each once, none marked completed. */
  readonly uploads: Upload[]
  /** Uploads left out because a completion mark names them. */
  readonly completed: number
}

/** A manifest given in an input of the action: written by hand in `uploads`, appended to by scripts in the file of `uploads-file`. */
export function inputSource(name: 'uploads' | 'uploads-file'): ManifestSource {
  return { name, label: `Input "${name}"`, appended: name === 'uploads-file' }
}

/** The guard's manifest, a file appended to by scripts, named by the variable that holds its path. */
export function guardSource(variable: string): ManifestSource {
  return { name: variable, label: variable, appended: true }
}

/** Parses the manifest; undefined when any entry is wrong. */
export function parseManifest(
  problems: Problems,
  source: ManifestSource,
  text: string,
  defaultTestId: string | undefined
): Upload[] | undefined {
  const before = problems.count
  const { uploads } = readManifest(problems, source, text, defaultTestId)
  return problems.count > before ? undefined : uploads
}

/**
 * Every upload that can be identified, even when other entries are wrong
 * (they are recorded in `problems`): cleanup after a failed job aborts what
 * it can.
 */
export function readManifest(
  problems: Problems,
  manifest: ManifestSource,
  text: string,
  defaultTestId: string | undefined
): ManifestUploads {
  const { name } = manifest
  const read = readValues(problems, manifest, text)
  if (!read) return { uploads: [], completed: 0 }
  const found = new Found()
  const flagged = { errors: 0, warnings: 0 }
  for (const { where, entry } of read.entries) {
    const own = new Problems()
    found.add(parseEntry(own, { where, entry, defaultTestId }))
    relay(own, problems, flagged)
  }
  const more = (n: number, what: string): string =>
    `${n - MAX_ENTRIES_LISTED} more entries of "${name}" ${what} (${n} in all), not listed one by one.`
  if (flagged.warnings > MAX_ENTRIES_LISTED) problems.warn(more(flagged.warnings, 'have warnings'))
  if (flagged.errors > MAX_ENTRIES_LISTED) problems.error(more(flagged.errors, 'are invalid'))
  const { cut } = read
  if (cut) found.add(salvage(problems, { ...manifest, defaultTestId, cut, index: read.values + 1 }))
  if (found.duplicates > 0) {
    // A script that appends each answer may have written one twice: harmless, but worth knowing.
    problems.warn(
      `${manifest.label} has ${plural(found.duplicates, 'duplicate')} (same test, key and upload ID as an earlier entry); each upload is aborted once.`
    )
  }
  return found.result()
}

// Ten thousand bad entries are one mistake repeated: the first few say
// what it is, a count says how far it goes.
const MAX_ENTRIES_LISTED = 20

/** Passes an entry's problems on, for the first MAX_ENTRIES_LISTED entries that have any. */
function relay(own: Problems, to: Problems, flagged: { errors: number; warnings: number }): void {
  if (own.errors.length > 0 && ++flagged.errors <= MAX_ENTRIES_LISTED) for (const e of own.errors) to.error(e)
  if (own.warnings.length > 0 && ++flagged.warnings <= MAX_ENTRIES_LISTED) for (const w of own.warnings) to.warn(w)
}

/** Uploads in manifest order, each once, and the completion marks seen. */
class Found {
  private readonly uploads = new Map<string, Upload>()
  private readonly completed = new Set<string>()
  duplicates = 0

  add(parsed: Parsed): void {
    if (!parsed) return
    const { upload } = parsed
    const identity = JSON.stringify([upload.testId, upload.key, upload.uploadId])
    if (parsed.completed) this.completed.add(JSON.stringify([upload.key, upload.uploadId]))
    else if (this.uploads.has(identity)) this.duplicates++
    else this.uploads.set(identity, upload)
  }

  result(): ManifestUploads {
    const all = [...this.uploads.values()]
    const uploads = all.filter(u => !this.completed.has(JSON.stringify([u.key, u.uploadId])))
    return { uploads, completed: all.length - uploads.length }
  }
}

interface CutInput extends ManifestSource {
  readonly defaultTestId: string | undefined
  readonly cut: CutValue
  readonly index: number
}

/** The value a killed script left half written: used when it still names its upload, else skipped. */
function salvage(problems: Problems, input: CutInput): Parsed {
  const { cut } = input
  // Presigned URLs carry their signature in the query: never quoted.
  const tail = cut.text.slice(-40).replace(/([?&][^=&"]*=)[^&"]*/g, '$1...')
  const stop = `${input.label}: value ${input.index} (from character ${cut.offset}) stops in the middle: it ends with ${quote('...' + tail, 48)}, as when a script is killed while writing it`
  const scratch = new Problems()
  const where = `${input.name} value ${input.index}`
  const parsed =
    cut.repaired === undefined
      ? undefined
      : parseEntry(scratch, { where, entry: cut.repaired, defaultTestId: input.defaultTestId })
  if (parsed && scratch.count === 0) {
    const what = parsed.completed ? 'a completion mark for upload' : 'upload'
    problems.warn(`${stop}; what it holds still names ${what} ${parsed.upload.uploadId}, which is used.`)
    return parsed
  }
  problems.warn(
    `${stop}; it is skipped. If it was the answer that started an upload, that upload cannot be identified and stays open until it expires.`
  )
  return undefined
}
