import {
  constants,
  createBrotliDecompress,
  createGunzip,
  createInflate,
  createInflateRaw,
  type BrotliOptions,
  type ZlibOptions
} from 'node:zlib'
import type { Transform } from 'node:stream'
import { quote } from '../text/text.js'
import type { Headers } from './sent.js'

// The action never asks for a compressed answer, and Datadog sends none
// unasked; a proxy may. Such a body is read as it decodes, never as bytes.

/** A body once its Content-Encoding is undone, or the words that stand for one that is not. */
export type Decoded =
  | {
      readonly kind: 'bytes'
      readonly bytes: Buffer
      /** It decoded to more than the cap: `bytes` is its start. */
      readonly overCap: boolean
    }
  | { readonly kind: 'unread'; readonly text: string }

/**
 * Undoes the body's Content-Encoding (gzip, deflate or br) into at most
 * `max` bytes: a decompression bomb stops there and comes back over the cap.
 * A `partial` body (cut at the cap, or by the connection) gives what its
 * start decodes to. Another encoding, several stacked, or a body that does
 * not decode come back as words naming the encoding, never as the bytes.
 */
export async function decodeBody(
  bytes: Buffer,
  headers: Headers,
  limits: { readonly max: number; readonly partial: boolean }
): Promise<Decoded> {
  const codings = codingsOf(headers)
  if (codings.length === 0 || bytes.length === 0) return { kind: 'bytes', bytes, overCap: false }
  const name = quote(codings.join(', '))
  const decoder = codings.length === 1 ? decoderFor(codings[0] ?? '', bytes, limits.partial) : undefined
  if (!decoder) return { kind: 'unread', text: `(a body in ${name} encoding, not shown)` }
  const out = await drain(decoder, bytes, limits.max)
  if (out === 'failed') return { kind: 'unread', text: `(a body in ${name} encoding that does not decode, not shown)` }
  return { kind: 'bytes', bytes: out.subarray(0, limits.max), overCap: out.length > limits.max }
}

/** Whether the body carries a content coding to undo. */
export function isEncoded(headers: Headers): boolean {
  return codingsOf(headers).length > 0
}

/** The content codings in the order they were applied, `identity` left out. */
function codingsOf(headers: Headers): string[] {
  const value = headers['content-encoding']
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value]
  return values
    .flatMap(v => v.split(','))
    .map(coding => coding.trim().toLowerCase())
    .filter(coding => coding !== '' && coding !== 'identity')
}

function decoderFor(coding: string, bytes: Buffer, partial: boolean): Transform | undefined {
  // A cut body flushes what it holds instead of failing at its end.
  const zlib: ZlibOptions = partial ? { finishFlush: constants.Z_SYNC_FLUSH } : {}
  const brotli: BrotliOptions = partial ? { finishFlush: constants.BROTLI_OPERATION_FLUSH } : {}
  if (coding === 'gzip' || coding === 'x-gzip') return createGunzip(zlib)
  // "deflate" is zlib-wrapped by the standard, raw from some servers: the first two bytes tell.
  if (coding === 'deflate') return hasZlibHeader(bytes) ? createInflate(zlib) : createInflateRaw(zlib)
  if (coding === 'br') return createBrotliDecompress(brotli)
  return undefined
}

function hasZlibHeader(bytes: Buffer): boolean {
  const [method = 0, flags = 0] = bytes
  return (method & 0x0f) === 8 && ((method << 8) | flags) % 31 === 0
}

/** What `input` decodes to, stopped once past `max` bytes; 'failed' when it does not decode. */
function drain(decoder: Transform, input: Buffer, max: number): Promise<Buffer | 'failed'> {
  return new Promise(resolve => {
    const chunks: Buffer[] = []
    let size = 0
    const done = (): void => resolve(Buffer.concat(chunks))
    decoder.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      size += chunk.length
      if (size <= max) return
      decoder.destroy()
      done()
    })
    decoder.on('end', done)
    decoder.on('error', () => resolve('failed'))
    decoder.end(input)
  })
}
