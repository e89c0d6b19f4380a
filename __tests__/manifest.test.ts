// The manifest rules a script relies on: answers appended with or without a
// newline, completion marks, a last value cut off by a killed script.
import { describe, expect, test } from '@jest/globals'
import { parseValue, topValues, type CutValue, type JsonValue } from '../src/manifest/json-values.js'
import { parseManifest, guardSource, inputSource, readManifest } from '../src/manifest/read.js'
import { Problems } from '../src/settings/problems.js'

const answer = (uploadId: string, parts = 2): string =>
  JSON.stringify({
    bucketKey: `api-upload-file/abc-def-123/${uploadId}.json`,
    multipart_presigned_urls_params: {
      key: `org-1/api-upload-file/abc-def-123/2024-01-01T00:00:00_${uploadId}.json`,
      upload_id: uploadId,
      urls: Object.fromEntries(
        Array.from({ length: parts }, (_, i) => [
          String(i + 1),
          `https://bucket.example/p${i}?X-Signature=SECRETSIG${i}`
        ])
      )
    }
  })
const keyOf = (uploadId: string): string => `org-1/api-upload-file/abc-def-123/2024-01-01T00:00:00_${uploadId}.json`
const mark = (uploadId: string): string => JSON.stringify({ completed: { key: keyOf(uploadId), uploadId } })

/** Every value of the text, parsed, and the last one when cut: the whole text read. */
function splitJsonValues(text: string): { values: JsonValue[]; cut: CutValue | undefined } {
  const scan = topValues(text)
  const values: JsonValue[] = []
  for (let next = scan.next(); ; next = scan.next()) {
    if (next.done) return { values, cut: next.value }
    values.push(parseValue(text, next.value))
  }
}

function read(text: string, name: 'DD_SYNTHETICS_UPLOADS_FILE' | 'uploads-file' = 'DD_SYNTHETICS_UPLOADS_FILE') {
  const problems = new Problems()
  const source = name === 'uploads-file' ? inputSource(name) : guardSource(name)
  const { uploads, completed } = readManifest(problems, source, text, undefined)
  return { ids: uploads.map(u => u.uploadId), completed, errors: problems.errors, warnings: problems.warnings }
}

describe('topValues', () => {
  test('values glued together, separated by newlines or by nothing', () => {
    const { values, cut } = splitJsonValues('{"a":"}{"}{"b":[1,{"c":"\\""}]}\n\n[2] "s" 3\n')
    expect(values.map(v => v.ok && v.value)).toEqual([{ a: '}{' }, { b: [1, { c: '"' }] }, [2], 's', 3])
    expect(cut).toBeUndefined()
  })

  test('a cut-off last value is closed at its last complete member', () => {
    const { values, cut } = splitJsonValues('{"x":1}{"a":"1","b":{"c":"2","d":"3"},"e":"ha')
    expect(values).toHaveLength(1)
    expect(cut?.offset).toBe(7)
    expect(cut?.repaired).toEqual({ a: '1', b: { c: '2', d: '3' } })
    expect(splitJsonValues('{"a":{"b":"1","c":"2"').cut?.repaired).toEqual({ a: { b: '1' } })
    expect(splitJsonValues('{"a":"x').cut?.repaired).toBeUndefined()
  })

  test('a broken whole value is an error at its offset, the others still parsed', () => {
    const { values } = splitJsonValues('{"a":1}{"a":}{"b":2}')
    expect(values.map(v => v.ok)).toEqual([true, false, true])
    expect(values[1]?.offset).toBe(7)
  })

  test("16 MiB of appended answers, and deep nesting, are read whole (a quadratic scan would pass jest's timeout)", () => {
    const one = answer('u', 50)
    const text = one.repeat(Math.ceil((16 * 1024 * 1024) / one.length))
    expect(splitJsonValues(text).values.length).toBe(Math.ceil((16 * 1024 * 1024) / one.length))
    expect(splitJsonValues('['.repeat(1_000_000) + ','.repeat(1_000_000)).values[0]).toMatchObject({
      ok: false,
      error: expect.stringMatching(/nest more than 32 levels deep/)
    })
  })
})

describe('readManifest', () => {
  test('answers appended with no newline between them, and a completion mark', () => {
    const result = read(answer('u1') + answer('u2') + '\n' + answer('u3') + mark('u2') + '\n')
    expect(result).toEqual({ ids: ['u1', 'u3'], completed: 1, errors: [], warnings: [] })
  })

  test('a manifest made only of completion marks names nothing to abort', () => {
    expect(read(mark('u1') + mark('u2'))).toMatchObject({ ids: [], completed: 0, errors: [] })
  })

  test('every entry form the batch input takes, mixed', () => {
    const entries = JSON.stringify([{ testId: 'abc-def-123', key: 'k', uploadId: 'e1' }])
    const result = read(`${entries}\n{"key":"${keyOf('e2')}","uploadId":"e2"}${answer('e3')}`)
    expect(result.ids).toEqual(['e1', 'e2', 'e3'])
  })

  test('a last value cut in its URLs still names its upload, with a warning quoting where it stopped', () => {
    const full = answer('u2', 3)
    const text = answer('u1') + full.slice(0, full.indexOf('SECRETSIG1') + 6)
    const result = read(text)
    expect(result.ids).toEqual(['u1', 'u2'])
    expect(result.errors).toEqual([])
    expect(result.warnings).toHaveLength(1)
    expect(result.warnings[0]).toMatch(/value 2 .* stops in the middle: it ends with ".*p1\?X-Signature=\.\.\."/)
    expect(result.warnings[0]).toContain('names upload u2')
    expect(result.warnings[0]).not.toContain('SECRETSIG')
  })

  test('a last value cut before its upload ID is skipped, saying that upload cannot be identified', () => {
    const full = answer('u2')
    const result = read(answer('u1') + full.slice(0, full.indexOf('upload_id') + 14))
    expect(result.ids).toEqual(['u1'])
    expect(result.warnings[0]).toMatch(/skipped.*cannot be identified/)
  })

  test('a cut-off completion mark still keeps its upload from being aborted', () => {
    const result = read(answer('u1') + answer('u2') + mark('u1').slice(0, -1))
    expect(result).toMatchObject({ ids: ['u2'], completed: 1, errors: [] })
  })

  test('an empty or blank file: nothing to abort, not an error', () => {
    for (const text of ['', '\n  \n']) {
      const result = read(text, 'uploads-file')
      expect(result.errors).toEqual([])
      expect(result.warnings).toEqual([
        expect.stringMatching(/^Input "uploads-file" is empty: there is nothing to abort/)
      ])
    }
  })

  test('a broken value in the middle is an error; the uploads around it are still named', () => {
    const result = read(answer('u1') + '{"key": }' + answer('u2'))
    expect(result.ids).toEqual(['u1', 'u2'])
    expect(result.errors).toEqual([
      expect.stringMatching(/value 2, at character \d+\) .*not valid JSON|not valid JSON \(value 2/)
    ])
  })
})

describe('what a script appends besides answers', () => {
  const page =
    '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><a href="x">nginx</a></body></html>'

  test("Datadog's error answer started no upload: one warning, not an error, and the uploads around it stand", () => {
    const result = read(answer('u1') + '{"errors":["Forbidden"]}' + answer('u2'))
    expect(result).toMatchObject({ ids: ['u1', 'u2'], errors: [] })
    expect(result.warnings).toEqual([
      expect.stringMatching(/error answer from Datadog \(Forbidden\): it started no upload/)
    ])
  })

  test('an error answer whose messages are not strings is described, never a crash', () => {
    const result = read('{"errors":[{"toString":1}]}' + answer('u1'))
    expect(result).toMatchObject({ ids: ['u1'], errors: [] })
    expect(result.warnings).toEqual([expect.stringMatching(/error answer from Datadog \(\{"toString":1\}\)/)])
  })

  test('an HTML error page between answers is one warning for the whole page', () => {
    const result = read(answer('u1') + '\n' + page + '\n' + answer('u2'))
    expect(result).toMatchObject({ ids: ['u1', 'u2'], errors: [] })
    expect(result.warnings).toEqual([
      expect.stringMatching(/holds text that is not JSON at character \d+ \("<html><head/)
    ])
  })

  test('uploads-file that is nothing but text is an error: it is not the file the uploads went to', () => {
    const result = read(page, 'uploads-file')
    expect(result.ids).toEqual([])
    expect(result.errors).toEqual([expect.stringMatching(/^Input "uploads-file" holds no JSON value/)])
  })

  test('the uploads input keeps naming each value that is not JSON', () => {
    const problems = new Problems()
    expect(parseManifest(problems, inputSource('uploads'), 'abc-def-123', undefined)).toBeUndefined()
    expect(problems.errors).toEqual([expect.stringMatching(/^Input "uploads" is not valid JSON/)])
  })
})

describe('parseManifest (the batch mode)', () => {
  test('uploads-file takes a cut-off last value with a warning, and no upload when any entry is wrong', () => {
    const problems = new Problems()
    const full = answer('u2', 3)
    const cut = full.slice(0, full.indexOf('"urls"') + 12)
    expect(
      parseManifest(problems, inputSource('uploads-file'), answer('u1') + cut, undefined)?.map(u => u.uploadId)
    ).toEqual(['u1', 'u2'])
    expect(
      parseManifest(problems, inputSource('uploads-file'), answer('u1') + '{"key":"k"}', undefined)
    ).toBeUndefined()
  })

  test('the uploads input, written by hand, refuses a value cut off', () => {
    const problems = new Problems()
    expect(parseManifest(problems, inputSource('uploads'), answer('u1').slice(0, -1), undefined)).toBeUndefined()
    expect(problems.errors).toEqual([
      expect.stringMatching(/^Input "uploads" is not valid JSON: it ends in the middle/)
    ])
  })
})

describe('the 10,000-entry limit, counted as the values are read', () => {
  const LIMIT_ERROR = 'DD_SYNTHETICS_UPLOADS_FILE has more than 10000 entries; at most 10000 are accepted in one step.'

  test('reading stops at the 10,001st value: what follows is never parsed, however broken', () => {
    const rest = '{"key": }\n<html>502</html>\n[1,,2]\n{"cut": "'
    const result = read('{}\n'.repeat(10_001) + rest)
    expect(result).toEqual({ ids: [], completed: 0, errors: [LIMIT_ERROR], warnings: [] })
  })

  test('a list is counted by its elements before it is parsed', () => {
    const list = `[${'{},'.repeat(10_001)}{"key": }]`
    expect(read(list).errors).toEqual([LIMIT_ERROR])
    // The same list within the limit is parsed, and its broken element reported.
    expect(read(`[${'{},'.repeat(9_998)}{"key": }]`).errors).toEqual([
      expect.stringMatching(/^DD_SYNTHETICS_UPLOADS_FILE is not valid JSON/)
    ])
  })

  test('marks, error answers and values that are not JSON count; text between values does not', () => {
    const answers = Array.from({ length: 9_997 }, (_, i) => answer(`u${i}`, 1)).join('\n')
    const full = `${answers}\na log line\n${mark('u0')}{"errors":["Forbidden"]}{"key": }\nmore text\n`
    const result = read(full)
    expect(result.errors).toEqual([expect.stringMatching(/is not valid JSON \(value \d+, at character \d+\)/)])
    expect(result.ids).toHaveLength(9_996)
    expect(result.completed).toBe(1)
    expect(read(full + mark('u1')).errors).toEqual([
      expect.stringMatching(/is not valid JSON \(value \d+/),
      LIMIT_ERROR
    ])
  })

  test("a list's elements are counted as a script writes them", () => {
    const counts = (text: string): number[] => Array.from(topValues(text), v => v.elements)
    expect(counts('[] [ ] [1] [1, [2, 3], {"a": [4, 5]}, "x,y"] {"a": 1, "b": 2} "s" 7')).toEqual([0, 0, 1, 4, 1, 1, 1])
  })
})
