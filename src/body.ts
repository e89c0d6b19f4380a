import { StringDecoder } from 'node:string_decoder'

// An answer's body, read under a cap: kept in the buffers it arrives in,
// outside V8's heap, until it is whole, then made text once, with no joined
// copy of the buffers on the way, and the buffers' memory handed back at once.
// What comes past the cap is read and dropped, within a limit.

// A body past the cap is never parsed, and no message shows more than the
// start of it: only that much of it becomes text.
const CUT_BODY_TEXT_BYTES = 16 * 1024

// Past the cap, the rest of a body is read and dropped up to this much, so
// the connection can carry another request; a longer one ends the connection.
const MAX_DROPPED_BYTES = 1024 * 1024

/** Where a body stands after a chunk: wanted, past the cap (the rest is dropped), or past what is worth reading. */
type BodyState = 'more' | 'full' | 'stop'

export interface Body {
  add(chunk: Buffer): BodyState
  /** Whether the body went past the cap. */
  readonly truncated: boolean
  /** The body as text (its start, when truncated); the chunks are released. */
  text(): string
}

export function collectBody(maxBytes: number): Body {
  const chunks: Buffer[] = []
  let size = 0
  let dropped = 0
  let truncated = false
  return {
    add(chunk) {
      if (truncated) {
        dropped += chunk.length
        setImmediate(() => release(chunk))
        return dropped > MAX_DROPPED_BYTES ? 'stop' : 'full'
      }
      // Whole chunks are kept, so their memory can be released; text() stops at the cap.
      chunks.push(chunk)
      size += chunk.length
      truncated = size >= maxBytes
      return truncated ? 'full' : 'more'
    },
    get truncated() {
      return truncated
    },
    text() {
      const text = decode(chunks, truncated ? Math.min(maxBytes, CUT_BODY_TEXT_BYTES) : size)
      const done = chunks.splice(0)
      // Not while node may still be reading from them: after this round of I/O.
      if (done.length > 0) setImmediate(() => done.forEach(release))
      return text
    }
  }
}

/** The first `bytes` of the chunks as UTF-8 text; a character cut at the end becomes U+FFFD. */
function decode(chunks: readonly Buffer[], bytes: number): string {
  const decoder = new StringDecoder('utf8')
  let text = ''
  let left = bytes
  for (const chunk of chunks) {
    if (left <= 0) break
    text += decoder.write(chunk.length > left ? chunk.subarray(0, left) : chunk)
    left -= chunk.length
  }
  return text + decoder.end()
}

/**
 * Frees a chunk's memory now rather than at the next garbage collection,
 * when the chunk is the only view of it (node gives each body chunk memory
 * of its own): ten thousand answers of 64 KiB would otherwise pile up
 * outside the heap, where V8 collects late. A chunk that shares its memory
 * (a slice of a pool) is left to the collector.
 */
function release(chunk: Buffer): void {
  const memory = chunk.buffer
  if (memory instanceof ArrayBuffer && chunk.byteOffset === 0 && memory.byteLength === chunk.length) {
    memory.transfer(0)
  }
}
