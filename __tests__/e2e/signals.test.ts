// A runner that cancels a job sends SIGINT, then SIGTERM: at whatever point
// of a batch they arrive, the step still writes its outputs and summary.
import { readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname } from 'node:path'
import { DEFAULT_KEYS, startEmulator, type Emulator, type Fault } from '../../emulator/server.ts'
import { emulatorInputs, leakedSecrets, runAction, type RunOptions } from '../support/runner.ts'

const KEYS = [DEFAULT_KEYS.apiKey, DEFAULT_KEYS.appKey]
const COUNT = 8
let emulator: Emulator

beforeAll(async () => {
  emulator = await startEmulator()
})
afterEach(() => {
  emulator.setFaults([])
  emulator.setLatency(0)
})
afterAll(async () => {
  await emulator.close()
})

/** A batch of COUNT uploads, signalled once `sentAtLeast` abort requests have reached the server. */
async function cancelledBatch(
  setup: { faults?: Fault[]; latencyMs?: number; sentAtLeast: number },
  signal: Omit<NonNullable<RunOptions['signal']>, 'when'>
) {
  const uploads = Array.from({ length: COUNT }, () => emulator.startUpload('abc-def-123'))
  emulator.setFaults(setup.faults ?? [])
  emulator.setLatency(setup.latencyMs ?? 0)
  const before = emulator.abortRequests().length
  const result = await runAction({
    inputs: emulatorInputs(emulator.url, undefined, {
      concurrency: '4',
      uploads: JSON.stringify(uploads.map(u => ({ key: u.key, uploadId: u.uploadId })))
    }),
    signal: { ...signal, when: () => emulator.abortRequests().length - before >= setup.sentAtLeast },
    killAfterMs: 15_000
  })
  expect(result.killed).toBe(false)
  expect(leakedSecrets(result, KEYS)).toEqual([])
  expect(result.stdout + result.stderr).not.toMatch(/Unexpected error/)
  expect(result.code).toBe(1)
  // Every count adds up to the batch, and the summary says what happened.
  const counts = ['aborted-count', 'not-found-count', 'failed-count'].map(name => Number(result.outputs[name]))
  expect(counts.reduce((a, b) => a + b, 0)).toBe(COUNT)
  expect(Number(result.outputs['failed-count'])).toBeGreaterThan(0)
  expect((JSON.parse(result.outputs['results'] ?? '[]') as unknown[]).length).toBe(COUNT)
  // The whole list, in the file the results-file output names.
  const file = result.outputs['results-file'] ?? ''
  expect(file.startsWith(tmpdir())).toBe(true)
  expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(JSON.parse(result.outputs['results'] ?? ''))
  rmSync(dirname(file), { recursive: true, force: true })
  expect(result.summary).toMatch(/could not be aborted/)
  expect(result.summary).toMatch(/cancelled/)
  expect(result.afterSignalMs).toBeLessThan(3000)
  return result
}

describe.each<NodeJS.Signals>(['SIGINT', 'SIGTERM'])('%s during a batch', name => {
  test('with slow answers', async () => {
    await cancelledBatch({ latencyMs: 800, sentAtLeast: 3 }, { name })
  })

  test('during the first request, before any answer', async () => {
    await cancelledBatch({ faults: [{ kind: 'stall-before-headers' }], sentAtLeast: 1 }, { name })
  })

  test('with every request in flight', async () => {
    // The first request goes alone; then all four workers wait on an answer.
    const result = await cancelledBatch({ latencyMs: 3000, sentAtLeast: 5 }, { name })
    const outcomes = (JSON.parse(result.outputs['results'] ?? '[]') as { outcome: string }[]).map(r => r.outcome)
    expect(outcomes.filter(o => o === 'cancelled').length).toBe(COUNT - 1)
  })

  test('during a backoff between retries', async () => {
    const faults: Fault[] = [{ kind: 'status', status: 503, headers: { 'Retry-After': '30' } }]
    await cancelledBatch({ faults, sentAtLeast: 1 }, { name })
  })
})

test('SIGINT then SIGTERM 10 ms later: the outputs and the summary are still written', async () => {
  const result = await cancelledBatch(
    { latencyMs: 1500, sentAtLeast: 1 },
    { name: 'SIGINT', then: { name: 'SIGTERM', afterMs: 10 } }
  )
  expect(result.outputs['aborted']).toBe('false')
})
