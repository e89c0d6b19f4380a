import { readFileSync } from 'node:fs'
import { describe, expect, test } from '@jest/globals'
import { parse } from 'yaml'
import type { UploadResult } from '../src/abort/outcomes.js'
import { reportInvalidInputs, reportResults, type RunFacts } from '../src/report/report.js'

const declared = Object.keys(
  (parse(readFileSync(new URL('../action.yml', import.meta.url), 'utf8')) as { outputs: Record<string, unknown> })
    .outputs
).sort()

const SINGLE: RunFacts = {
  batch: false,
  dryRun: false,
  siteLabel: 'datadoghq.com (US1)',
  tookMs: 1234,
  resultsFile: '/runner/temp/results.json'
}
const BATCH: RunFacts = { ...SINGLE, batch: true }

function result(n: number, overrides: Partial<UploadResult> = {}): UploadResult {
  return {
    upload: { testId: 'abc-def-123', key: `org/api-upload-file/abc-def-123/${n}.json`, uploadId: `u${n}` },
    outcome: 'aborted',
    status: 204,
    errors: [],
    attempts: 1,
    message: `Aborted upload u${n}.`,
    ...overrides
  }
}

const refused = (n: number): UploadResult =>
  result(n, {
    outcome: 'failed',
    kind: 'http',
    status: 403,
    errors: [`Forbidden ${n}`],
    message: `Datadog refused to abort upload u${n}.`,
    hint: 'Check the keys.'
  })

describe('reportResults', () => {
  test('one aborted upload: every declared output, the status, no failure and no closing line', () => {
    const report = reportResults([result(1)], SINGLE)
    expect(Object.keys(report.outputs).sort()).toEqual(declared)
    expect(report.outputs).toMatchObject({ status: '204', aborted: 'true', 'aborted-count': '1', errors: '[]' })
    expect(report.failure).toBeUndefined()
    expect(report.messages).toEqual([{ level: 'info', text: 'Aborted upload u1.' }])
  })

  test("one refused upload: one failure line with its message, Datadog's words and the hint, no other annotation", () => {
    const report = reportResults([refused(1)], SINGLE)
    expect(report.failure).toBe('Datadog refused to abort upload u1. Datadog said: Forbidden 1. Check the keys.')
    expect(report.messages.filter(m => m.level === 'error')).toEqual([])
    expect(report.outputs).toMatchObject({ status: '403', aborted: 'false', 'failed-count': '1' })
    expect(JSON.parse(report.outputs.errors ?? '')).toEqual(['Forbidden 1'])
    expect(JSON.parse(report.outputs.results ?? '')).toEqual([
      expect.objectContaining({ uploadId: 'u1', outcome: 'failed', kind: 'http', status: 403, attempts: 1 })
    ])
  })

  test("Datadog's words are left out only when the message already says them in whole", () => {
    const said = (errors: string[]) =>
      reportResults([result(1, { ...refused(1), status: 403, errors, message: 'Refused: 403 Forbidden.' })], SINGLE)
        .failure
    expect(said(['Forbidden'])).toBe('Refused: 403 Forbidden. Check the keys.')
    expect(said(['Forbid', 'no'])).toBe('Refused: 403 Forbidden. Datadog said: Forbid; no. Check the keys.')
  })

  test('a network failure of one upload is not said twice on its failure line', () => {
    const unreachable = result(1, {
      outcome: 'failed',
      kind: 'network',
      status: undefined,
      errors: ['connection refused (ECONNREFUSED)'],
      message: 'Could not reach host: connection refused (ECONNREFUSED).',
      hint: 'Check the proxy.'
    })
    expect(reportResults([unreachable], SINGLE).failure).toBe(
      'Could not reach host: connection refused (ECONNREFUSED). Check the proxy.'
    )
  })

  test('a batch caps annotations at nine of a kind, keeps the rest in the log and counts exactly', () => {
    const results = [result(0), ...Array.from({ length: 12 }, (_, i) => refused(i + 1))]
    const report = reportResults(results, BATCH)
    const errors = report.messages.filter(m => m.level === 'error')
    expect(errors).toHaveLength(9)
    expect(errors[0]).toEqual({ level: 'error', text: 'Forbidden 1', title: 'Datadog 403 for upload u1' })
    expect(report.messages.filter(m => m.text.startsWith('Error (Datadog 403 for upload u'))).toHaveLength(3)
    expect(report.messages.filter(m => m.text.startsWith('Failed: '))).toHaveLength(12)
    expect(report.outputs).toMatchObject({ status: '', 'aborted-count': '1', 'failed-count': '12', attempts: '13' })
    expect(report.failure).toBe(
      '12 of 13 uploads could not be aborted (1 aborted, 0 not found); see the errors above and the results output.'
    )
  })

  test('a successful batch ends with one closing line and no failure', () => {
    const notFound = result(2, { outcome: 'not-found', status: 404, message: 'Not found.', warning: 'Gone.' })
    const report = reportResults([result(1), notFound], BATCH)
    expect(report.failure).toBeUndefined()
    expect(report.messages.at(-1)).toEqual({
      level: 'info',
      text: 'Done: 1 aborted, 1 not found, in 1.2 s.'
    })
    expect(report.messages).toContainEqual({ level: 'warning', text: 'Gone.', title: 'Upload u2' })
    expect(report.outputs).toMatchObject({ aborted: 'false', 'not-found-count': '1' })
  })
})

describe('unconfirmed uploads (404 after a lost answer)', () => {
  const unconfirmed = (tolerated: boolean): UploadResult =>
    result(3, {
      outcome: 'unconfirmed',
      status: 404,
      attempts: 2,
      message: 'Upload u3 is not confirmed aborted.',
      ...(tolerated ? { tolerated, warning: 'Not confirmed.' } : { hint: 'Check the key.' })
    })

  test('are neither aborted nor not-found, have their own count, and fail the step', () => {
    const report = reportResults([result(1), unconfirmed(false)], BATCH)
    expect(report.outputs).toMatchObject({
      aborted: 'false',
      'aborted-count': '1',
      'not-found-count': '0',
      'unconfirmed-count': '1',
      'failed-count': '0',
      attempts: '3'
    })
    expect(report.failure).toBe(
      '1 of 2 uploads could not be aborted (1 aborted, 0 not found, 1 unconfirmed); see the errors above and the results output.'
    )
    expect(report.summary).toContain('❔ unconfirmed')
  })

  test('with ignore-not-found, are a warning and the step succeeds', () => {
    const report = reportResults([result(1), unconfirmed(true)], BATCH)
    expect(report.failure).toBeUndefined()
    expect(report.outputs).toMatchObject({ aborted: 'false', 'unconfirmed-count': '1' })
    expect(report.messages).toContainEqual({ level: 'warning', text: 'Not confirmed.', title: 'Upload u3' })
    expect(report.messages.at(-1)?.text).toBe('Done: 1 aborted, 0 not found, 1 unconfirmed, in 1.2 s.')
  })
})

describe('reportInvalidInputs', () => {
  test('sets every declared output with zero counts, and fails naming how many problems', () => {
    const report = reportInvalidInputs(['Input "key" is empty.', 'Input "timeout" must be a number.'], false)
    expect(Object.keys(report.outputs).sort()).toEqual(declared)
    expect(report.outputs).toMatchObject({
      aborted: 'false',
      attempts: '0',
      'aborted-count': '0',
      'not-found-count': '0',
      'unconfirmed-count': '0',
      'failed-count': '0',
      results: '[]',
      'dry-run': 'false'
    })
    expect(JSON.parse(report.outputs.errors ?? '')).toHaveLength(2)
    expect(report.messages.every(m => m.level === 'error' && m.title === 'Invalid input')).toBe(true)
    expect(report.failure).toBe('2 input problem(s), listed above; no request was sent.')
    expect(report.summary).toContain('Invalid inputs: no request was sent.')
  })
})

describe('volume within GitHub limits', () => {
  // The heaviest an answer can leave: 20 errors, bounded lines, and long keys.
  const heavy = (n: number): UploadResult =>
    result(n, {
      outcome: 'failed',
      kind: 'http',
      status: 400,
      upload: { testId: 'abc-def-123', key: `${'k'.repeat(1000)}${n}`, uploadId: `${'u'.repeat(1000)}${n}` },
      errors: Array.from({ length: 4 }, (_, i) => `${'é'.repeat(490)} ${i}`),
      message: `Datadog refused to abort upload u${n}.`,
      hint: 'Check the request.'
    })
  const outputBytes = (outputs: Readonly<Record<string, string>>): number =>
    Object.values(outputs).reduce((sum, v) => sum + Buffer.byteLength(v, 'utf8'), 0)

  test('10,000 heavy results: exact counts, every output together under 1 MiB, the results file named', () => {
    const results = Array.from({ length: 10_000 }, (_, n) => heavy(n))
    const report = reportResults(results, BATCH)
    expect(report.outputs['failed-count']).toBe('10000')
    expect(outputBytes(report.outputs)).toBeLessThan(1024 * 1024)
    const listed = JSON.parse(report.outputs['results'] ?? '') as { uploadId: string }[]
    expect(listed.length).toBeGreaterThan(0)
    expect(listed.length).toBeLessThan(10_000)
    expect(listed[0]?.uploadId).toBe(results[0]?.upload.uploadId)
    expect(JSON.parse(report.outputs['errors'] ?? '')).toEqual(expect.any(Array))
    expect(report.outputs['results-file']).toBe('/runner/temp/results.json')
    expect(report.messages.map(m => m.text)).toContain(
      `The results output holds the first ${listed.length} of 10000 uploads (GitHub keeps at most 1 MiB of outputs); the whole list is in /runner/temp/results.json (the results-file output).`
    )
    expect(Buffer.byteLength(report.summary, 'utf8')).toBeLessThan(1024 * 1024)
    expect(report.summary).toMatch(/more uploads not shown: the `results-file` output names a file with all of them/)
  })

  test('500 heavy results: the summary stays under 1 MiB and says how many rows it left out', () => {
    const report = reportResults(
      Array.from({ length: 500 }, (_, n) => heavy(n)),
      BATCH
    )
    expect(Buffer.byteLength(report.summary, 'utf8')).toBeLessThan(1024 * 1024)
    expect(report.summary).toMatch(/\(\d+ more uploads not shown/)
  })

  test('a batch that fits is listed whole, with no note', () => {
    const report = reportResults([result(1), result(2)], BATCH)
    expect(JSON.parse(report.outputs['results'] ?? '')).toHaveLength(2)
    expect(report.messages.map(m => m.text).join('\n')).not.toMatch(/holds the first/)
  })
})
