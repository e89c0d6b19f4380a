// The emulator's storage model on its own: the rules of the multipart flow
// with plain values, no HTTP.
import { createHash } from 'node:crypto'
import { UploadStore } from '../emulator/storage.ts'

const TEST = 'abc-def-123'
const md5Hex = (text: string): string => createHash('md5').update(text).digest('hex')
const md5Base64 = (text: string): string => createHash('md5').update(text).digest('base64')

test('start opens an upload whose key is the bucketKey under the organisation', () => {
  const store = new UploadStore()
  const upload = store.start(TEST, 'api-upload-file', 's3', new Date('2026-01-02T03:04:05.678Z'))
  expect(upload.bucketKey).toMatch(/^api-upload-file\/abc-def-123\/2026-01-02T03:04:05_[0-9a-f-]{36}\.json$/)
  expect(upload.key).toBe(`org-1/${upload.bucketKey}`)
  expect(store.state(upload.uploadId)).toBe('open')
  expect(store.start(TEST, 'api-upload-file').uploadId).not.toBe(upload.uploadId)
  expect(store.openCount()).toBe(2)
})

test('parts are stored with their MD5 as ETag, only while the upload is open', () => {
  const store = new UploadStore()
  const upload = store.start(TEST, 'api-upload-file')
  expect(store.putPart(upload.uploadId, 1, Buffer.from('one'))).toEqual({ etag: md5Hex('one') })
  expect(store.putPart(upload.uploadId, 2, Buffer.from('second'))).toEqual({ etag: md5Hex('second') })
  expect(store.storedBytes(upload.uploadId)).toBe(9)
  expect(store.putPart('no-such-upload', 1, Buffer.from('x'))).toEqual({ refused: 'no-such-upload' })
  store.abort(upload)
  expect(store.storedBytes(upload.uploadId)).toBe(0)
  expect(store.putPart(upload.uploadId, 3, Buffer.from('late'))).toEqual({ refused: 'no-such-upload' })
  expect(store.openCount()).toBe(0)
})

test('findOpen says why an upload cannot be completed or aborted', () => {
  const store = new UploadStore()
  const upload = store.start(TEST, 'api-upload-file')
  expect(store.findOpen(TEST, upload.key, upload.uploadId)).toBe(upload)
  expect(store.findOpen(TEST, upload.key, 'nope')).toBe('Upload not found')
  expect(store.findOpen(TEST, 'other-key', upload.uploadId)).toMatch(/key does not match/)
  expect(store.findOpen('xyz-uvw-789', upload.key, upload.uploadId)).toMatch(/for test xyz-uvw-789/)
  store.abort(upload)
  expect(store.findOpen(TEST, upload.key, upload.uploadId)).toMatch(/already aborted/)
})

test('complete checks every ETag, then serves the parts in order as one file of that test', () => {
  const store = new UploadStore()
  const upload = store.start(TEST, 'browser-upload-file-step')
  store.putPart(upload.uploadId, 2, Buffer.from('"world"}'))
  store.putPart(upload.uploadId, 1, Buffer.from('{"hello":'))
  expect(store.complete(upload, [{ ETag: 'wrong', PartNumber: 1 }])).toMatch(/Part 1/)
  expect(store.complete(upload, [{ ETag: md5Hex('x'), PartNumber: 3 }])).toMatch(/Part 3/)
  expect(store.state(upload.uploadId)).toBe('open')
  expect(store.contents(upload.uploadId)).toBeUndefined()

  const parts = [
    { ETag: `"${md5Hex('{"hello":')}"`, PartNumber: 1 },
    { ETag: md5Hex('"world"}'), PartNumber: 2 }
  ]
  expect(store.complete(upload, parts)).toBeUndefined()
  expect(store.state(upload.uploadId)).toBe('completed')
  expect(store.contents(upload.uploadId)?.toString()).toBe('{"hello":"world"}')
  expect(store.file(TEST, upload.bucketKey)).toBe(upload)
  expect(store.file('xyz-uvw-789', upload.bucketKey)).toBeUndefined()
  expect(store.findOpen(TEST, upload.key, upload.uploadId)).toMatch(/already completed/)
})

test('Azure-style storage gives a part no ETag, and completes with the empty ETag Datadog sends for it', () => {
  const store = new UploadStore()
  const upload = store.start(TEST, 'api-upload-file', 'azure')
  expect(store.putPart(upload.uploadId, 1, Buffer.from('{"a":'))).toEqual({ etag: undefined })
  expect(store.putPart(upload.uploadId, 2, Buffer.from('1}'))).toEqual({ etag: undefined })
  // Every part listed must still have been uploaded.
  expect(store.complete(upload, [{ ETag: '', PartNumber: 3 }])).toMatch(/Part 3 was not uploaded/)
  expect(
    store.complete(upload, [
      { ETag: '', PartNumber: 1 },
      { ETag: '', PartNumber: 2 }
    ])
  ).toBeUndefined()
  expect(store.contents(upload.uploadId)?.toString()).toBe('{"a":1}')
})

test('S3-style storage refuses an empty ETag on complete', () => {
  const store = new UploadStore()
  const upload = store.start(TEST, 'api-upload-file', 's3')
  store.putPart(upload.uploadId, 1, Buffer.from('x'))
  expect(store.complete(upload, [{ ETag: '', PartNumber: 1 }])).toMatch(/Part 1 .*ETag does not match/)
  expect(store.state(upload.uploadId)).toBe('open')
})

describe.each(['s3', 'azure'] as const)('Content-MD5 on %s-style storage', storage => {
  test('a part whose Content-MD5 matches its bytes is stored', () => {
    const store = new UploadStore()
    const upload = store.start(TEST, 'api-upload-file', storage)
    expect(store.putPart(upload.uploadId, 1, Buffer.from('part'), md5Base64('part'))).not.toHaveProperty('refused')
    expect(store.storedBytes(upload.uploadId)).toBe(4)
  })

  test('a Content-MD5 of other bytes is refused and nothing is stored', () => {
    const store = new UploadStore()
    const upload = store.start(TEST, 'api-upload-file', storage)
    expect(store.putPart(upload.uploadId, 1, Buffer.from('part'), md5Base64('other'))).toEqual({
      refused: 'md5-mismatch'
    })
    expect(store.storedBytes(upload.uploadId)).toBe(0)
  })

  test.each([
    ['hex', md5Hex('part')],
    ['base64 without its padding', md5Base64('part').replace(/=+$/, '')],
    ['base64 of 2 bytes', 'AAA='],
    ['empty', '']
  ])('a Content-MD5 that is %s is not one: refused', (_label, header) => {
    const store = new UploadStore()
    const upload = store.start(TEST, 'api-upload-file', storage)
    expect(store.putPart(upload.uploadId, 1, Buffer.from('part'), header)).toEqual({ refused: 'invalid-md5' })
    expect(store.storedBytes(upload.uploadId)).toBe(0)
  })
})
