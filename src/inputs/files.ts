import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs'

/**
 * Reads a regular file of at most `maxBytes`. A FIFO, a device or a
 * directory is refused without blocking (opened non-blocking, checked with
 * fstat), and a file that grows past the bound while read is refused too.
 */
export function readBoundedFile(path: string, maxBytes: number): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  try {
    const stat = fstatSync(fd)
    if (!stat.isFile()) throw withCode('not a regular file', 'ENOTREG')
    if (stat.size > maxBytes) throw withCode('file too large', 'EFBIG')
    // Sized by fstat, not by the bound: a small file costs a small buffer.
    // The byte past the size shows a file that grew; it grows the buffer, up to the bound.
    let buffer: Buffer = Buffer.allocUnsafe(stat.size + 1)
    let length = 0
    for (;;) {
      if (length === buffer.length) buffer = grown(buffer, maxBytes + 1)
      const n = readSync(fd, buffer, length, buffer.length - length, null)
      if (n === 0) break
      length += n
      if (length > maxBytes) throw withCode('file too large', 'EFBIG')
    }
    return buffer.toString('utf8', 0, length)
  } finally {
    closeSync(fd)
  }
}

function grown(buffer: Buffer, limit: number): Buffer {
  const larger = Buffer.allocUnsafe(Math.min(limit, 2 * buffer.length))
  buffer.copy(larger)
  return larger
}

function withCode(message: string, code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code })
}
