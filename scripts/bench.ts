// npm run bench: speed and memory as ratios against floors measured in the
// same run, on Node 24, against the local emulator. Not part of npm test.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { startEmulator, type Emulator, type EmulatorOptions } from '../emulator/server.ts'
import {
  COMMITTED_BUNDLE,
  emulatorInputs,
  NODE24,
  parseOutputFile,
  ROOT,
  runAction,
  runnerEnv
} from '../__tests__/support/runner.ts'

const RUNS = Number(process.env.BENCH_RUNS ?? 21)
// Flags for the measured processes, to look into a row: BENCH_NODE_FLAGS='--trace-gc'.
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean)
const work = mkdtempSync(join(tmpdir(), 'abort-bench-'))

interface Sample {
  ms: number
  rssMiB: number
}

/** Runs one script as a whole process; wall time from spawn to exit, peak RSS from inside. */
async function measure(script: string, env: Record<string, string>, exitCode = 0): Promise<Sample> {
  const rssFile = join(work, 'rss')
  const started = process.hrtime.bigint()
  const child = spawn(NODE24, [...NODE_FLAGS, '--require', join(ROOT, 'scripts/bench/rss-probe.cjs'), script], {
    env: { ...env, BENCH_RSS_FILE: rssFile },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const code = await new Promise<number | null>(done => child.on('close', done))
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  if (code !== exitCode) throw new Error(`${script} exited with ${code}`)
  return { ms, rssMiB: Number(readFileSync(rssFile, 'utf8')) / 1024 }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

function singleInputs(emulator: Emulator): Record<string, string> {
  return emulatorInputs(emulator.url, emulator.startUpload('abc-def-123'))
}

async function withEmulator<T>(options: EmulatorOptions, fn: (emulator: Emulator) => Promise<T>): Promise<T> {
  const emulator = await startEmulator(options)
  try {
    return await fn(emulator)
  } finally {
    await emulator.close()
  }
}

/** A floor script bundled with ncc the way the action is; returns the bundle's path. */
function buildFloor(name: string): string {
  const dir = join(work, name)
  execFileSync(
    join(ROOT, 'node_modules/.bin/ncc'),
    ['build', join(ROOT, `scripts/bench/${name}.ts`), '-o', dir, '--source-map', '--no-source-map-register', '--quiet'],
    { cwd: ROOT, stdio: 'inherit' }
  )
  return join(dir, 'index.js')
}

async function rowSingle(): Promise<string[]> {
  const scripts = {
    bare: join(ROOT, 'scripts/bench/bare-floor.cjs'),
    toolkit: buildFloor('toolkit-floor'),
    action: COMMITTED_BUNDLE
  }
  const samples: Record<keyof typeof scripts, Sample[]> = { bare: [], toolkit: [], action: [] }
  return withEmulator({}, async emulator => {
    const order = Object.keys(scripts) as (keyof typeof scripts)[]
    // One warm-up of each, so the first measured run does not pay for a cold disk cache.
    for (const name of order) await measure(scripts[name], runnerEnv(singleInputs(emulator), {}))
    for (let i = 0; i < RUNS; i++) {
      // Interleaved and rotated, so drift on the machine hits all three alike.
      for (let j = 0; j < order.length; j++) {
        const name = order[(i + j) % order.length] as keyof typeof scripts
        samples[name].push(await measure(scripts[name], runnerEnv(singleInputs(emulator), {})))
      }
    }
    const med = (name: keyof typeof scripts, field: keyof Sample): number => median(samples[name].map(s => s[field]))
    const action = { ms: med('action', 'ms'), rss: med('action', 'rssMiB') }
    const toolkit = { ms: med('toolkit', 'ms'), rss: med('toolkit', 'rssMiB') }
    const bare = { ms: med('bare', 'ms'), rss: med('bare', 'rssMiB') }
    return [
      `| 1. single abort, wall time (median of ${RUNS}) | ${action.ms.toFixed(0)} ms | toolkit floor ${toolkit.ms.toFixed(0)} ms | **${(action.ms / toolkit.ms).toFixed(2)}x** (target ≤ 1.10x) |`,
      `| 1. single abort, peak RSS (median of ${RUNS}) | ${action.rss.toFixed(1)} MiB | toolkit floor ${toolkit.rss.toFixed(1)} MiB | **${(action.rss - toolkit.rss >= 0 ? '+' : '') + (action.rss - toolkit.rss).toFixed(1)} MiB** (target ≤ +4 MiB) |`,
      `| 1. single abort vs bare node:http floor | ${action.ms.toFixed(0)} ms, ${action.rss.toFixed(1)} MiB | bare floor ${bare.ms.toFixed(0)} ms, ${bare.rss.toFixed(1)} MiB | ${(action.ms / bare.ms).toFixed(2)}x time, +${(action.rss - bare.rss).toFixed(1)} MiB (toolkit floor: ${(toolkit.ms / bare.ms).toFixed(2)}x, +${(toolkit.rss - bare.rss).toFixed(1)} MiB) |`
    ]
  })
}

async function batch(emulator: Emulator, count: number, concurrency: number) {
  const uploads = Array.from({ length: count }, () => emulator.startUpload('abc-def-123'))
  const file = join(work, `uploads-${count}.json`)
  writeFileSync(file, JSON.stringify(uploads.map(u => ({ key: u.key, uploadId: u.uploadId }))))
  const result = await runAction({
    bundle: COMMITTED_BUNDLE,
    inputs: emulatorInputs(emulator.url, undefined, {
      'uploads-file': file,
      concurrency: String(concurrency),
      timeout: '300'
    }),
    killAfterMs: 300_000
  })
  if (result.code !== 0) throw new Error(`batch of ${count} failed:\n${result.stdout.slice(-2000)}`)
  const firstAt = emulator.abortRequests()[0]?.receivedAt ?? Date.now()
  return { ms: result.durationMs, failed: Number(result.outputs['failed-count']), firstAt }
}

async function rowRateLimited(): Promise<string> {
  return withEmulator({ rateLimit: { limit: 50, periodSeconds: 1 }, latencyMs: 25 }, async emulator => {
    const { ms, failed } = await batch(emulator, 500, 4)
    const floor = (500 / 50) * 1000
    return `| 2. 500 uploads, limit 50/s, 25 ms latency, concurrency 4 | ${(ms / 1000).toFixed(2)} s | rate-limit floor ${(floor / 1000).toFixed(2)} s | **${(ms / floor).toFixed(2)}x** (target ≤ 1.10x); 429s: ${emulator.stats().rateLimited}; left open: ${emulator.openUploads()}; failed: ${failed} |`
  })
}

async function rowUnlimited(): Promise<string> {
  return withEmulator({ latencyMs: 25 }, async emulator => {
    const { ms, failed } = await batch(emulator, 1000, 16)
    const floor = (1000 / 16) * 25
    return `| 3. 1000 uploads, no limit, 25 ms latency, concurrency 16 | ${(ms / 1000).toFixed(2)} s | floor ${(floor / 1000).toFixed(2)} s | **${(ms / floor).toFixed(2)}x** (target ≤ 1.3x); left open: ${emulator.openUploads()}; failed: ${failed}; in flight at most: ${emulator.stats().maxConcurrent} |`
  })
}

/**
 * A batch under a calendar-aligned limit, against the floor a client that
 * knows only Datadog's documented headers can reach: the waits
 * X-RateLimit-Reset announces (whole seconds) before the last window the
 * uploads need. The first is the rest of the first window, rounded up; each
 * later one is a whole period, since a client that waited a rounded-up reset
 * starts its window a little late.
 */
async function rowWindows(row: number, count: number, limit: number, periodSeconds: number): Promise<string> {
  return withEmulator({ rateLimit: { limit, periodSeconds }, latencyMs: 25 }, async emulator => {
    const { ms, failed, firstAt } = await batch(emulator, count, 4)
    const periodMs = periodSeconds * 1000
    const windows = Math.ceil(count / limit)
    const firstRest = Math.ceil((periodMs - (firstAt % periodMs)) / 1000) * 1000
    const floor = windows < 2 ? 0 : firstRest + (windows - 2) * periodMs
    const limited = emulator.stats().rateLimited
    return `| ${row}. ${count} uploads, limit ${limit} per ${periodSeconds} s window (calendar aligned), 25 ms latency, concurrency 4 | ${(ms / 1000).toFixed(2)} s | rate-limit floor ${(floor / 1000).toFixed(2)} s | **${(ms / floor).toFixed(2)}x** (target ≤ 1.10x); 429s: ${limited} (target ≤ ${windows}, one per window); left open: ${emulator.openUploads()}; failed: ${failed} |`
  })
}

// 10,000 uploads whose every answer is a 400 holding 64 KiB of error
// messages: peak memory of the whole process against the floor (the same
// requests and answers through @actions/core's process and node:http, nothing
// kept), and the largest output, which GitHub caps at 1 MiB for all outputs
// together and for the summary.
async function rowVolume(): Promise<string> {
  const floorScript = buildFloor('volume-floor')
  return withEmulator({}, async emulator => {
    const count = 10_000
    const errors = Array.from({ length: 190 }, (_, i) => `${'é'.repeat(170)} ${i}`)
    const body = JSON.stringify({ errors })
    const output = join(work, 'volume-output')
    const summary = join(work, 'volume-summary')
    const run = async (script: string) => {
      const uploads = Array.from({ length: count }, () => emulator.startUpload('abc-def-123'))
      emulator.setFaults(uploads.map(() => ({ kind: 'status', status: 400, body })))
      const file = join(work, 'uploads-volume.json')
      writeFileSync(file, JSON.stringify(uploads.map(u => ({ key: u.key, uploadId: u.uploadId }))))
      writeFileSync(output, '')
      writeFileSync(summary, '')
      const inputs = emulatorInputs(emulator.url, undefined, {
        'uploads-file': file,
        concurrency: '16',
        timeout: '600'
      })
      const sample = await measure(script, runnerEnv(inputs, { output, summary }), script === COMMITTED_BUNDLE ? 1 : 0)
      return { sample, outputs: parseOutputFile(readFileSync(output, 'utf8')) }
    }
    const floor = await run(floorScript)
    if (floor.outputs['failed-count'] !== String(count)) throw new Error('the floor did not get its 400s')
    const { sample, outputs } = await run(COMMITTED_BUNDLE)
    const [largest, bytes] = Object.entries(outputs)
      .map(([name, value]) => [name, Buffer.byteLength(value, 'utf8')] as const)
      .reduce((a, b) => (b[1] > a[1] ? b : a))
    const kib = (n: number): string => `${(n / 1024).toFixed(0)} KiB`
    const resultsFile = outputs['results-file'] ?? ''
    const listed = (JSON.parse(readFileSync(resultsFile, 'utf8')) as unknown[]).length
    rmSync(resultsFile, { force: true })
    const rss = `peak RSS ${sample.rssMiB.toFixed(0)} MiB (floor ${floor.sample.rssMiB.toFixed(0)} MiB: **${(sample.rssMiB / floor.sample.rssMiB).toFixed(2)}x**)`
    return `| 6. 10,000 uploads, each answered 400 with 64 KiB of errors, concurrency 16 | ${rss}; largest output \`${largest}\` ${kib(bytes)}; all outputs ${kib(readFileSync(output).length)}; summary ${kib(readFileSync(summary).length)} | target: RSS < 150 MiB, outputs and summary < 1 MiB | failed-count ${outputs['failed-count']}; results file lists ${listed}; ${(sample.ms / 1000).toFixed(1)} s (floor ${(floor.sample.ms / 1000).toFixed(1)} s) |`
  })
}

try {
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  console.log(
    `Machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${execFileSync(NODE24, ['--version'], { encoding: 'utf8' }).trim()}`
  )
  const only = process.argv[2]
  const rows: string[] = []
  if (!only || only === '1') rows.push(...(await rowSingle()))
  if (!only || only === '2') rows.push(await rowRateLimited())
  if (!only || only === '3') rows.push(await rowUnlimited())
  if (!only || only === '4') rows.push(await rowWindows(4, 40, 10, 1))
  if (!only || only === '5') rows.push(await rowWindows(5, 75, 30, 10))
  if (!only || only === '6') rows.push(await rowVolume())
  console.log('\n| row | measured | floor | ratio |\n| --- | --- | --- | --- |')
  for (const row of rows) console.log(row)
} finally {
  rmSync(work, { recursive: true, force: true })
}
