// npm run bench: the action before (the 1.0.1 bundle, taken from git) and
// after (src/ as it is, bundled as `npm run build` does) against floors, all
// measured in the same run, interleaved, on Node 24, against the local
// emulator. Not part of npm test. `npm run bench -- 3` runs row 3 alone.
import { execFile, execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { startEmulator, type Emulator, type EmulatorOptions, type Fault } from '../emulator/server.ts'
import buildBundle from '../__tests__/support/build-bundle.js'
import { emulatorInputs, NODE24, parseOutputFile, ROOT, runnerEnv, testedBundle } from '../__tests__/support/runner.ts'

// The release measured as "before": 1.0.1. BENCH_BEFORE names another commit.
const BEFORE_REF = process.env.BENCH_BEFORE ?? '151fbf6'
// Runs of each script per row; BENCH_RUNS sets every row's (BENCH_RUNS=3 for a quick look).
const RUNS = process.env.BENCH_RUNS ? Number(process.env.BENCH_RUNS) : undefined
// Flags for the measured processes, to look into a row: BENCH_NODE_FLAGS='--cpu-prof --cpu-prof-dir=/tmp/prof'.
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean)
const work = mkdtempSync(join(tmpdir(), 'abort-bench-'))

const SCRIPTS = ['before', 'after', 'toolkit', 'undici', 'bare'] as const
type Script = (typeof SCRIPTS)[number]
type Scripts = Record<Script, string>

interface Sample {
  ms: number
  rssMiB: number
  outputs: Record<string, string>
  /** Uploads in the action's results file. */
  listed: number | undefined
}

/** The scripts: the "before" bundle from git, the "after" bundle and the floors built with ncc. */
async function prepare(): Promise<Scripts> {
  const before = join(work, 'before')
  mkdirSync(before)
  for (const file of ['index.js', 'package.json']) {
    const text = execFileSync('git', ['show', `${BEFORE_REF}:dist/${file}`], { cwd: ROOT, maxBuffer: 64 * 2 ** 20 })
    writeFileSync(join(before, file), text)
  }
  const [toolkit, undici] = await Promise.all([buildFloor('toolkit-floor'), buildFloor('undici-floor'), buildBundle()])
  return {
    before: join(before, 'index.js'),
    after: testedBundle(),
    toolkit,
    undici,
    bare: join(ROOT, 'scripts/bench/bare-floor.cjs')
  }
}

/** A floor script bundled with ncc the way the action is; returns the bundle's path. */
async function buildFloor(name: string): Promise<string> {
  const dir = join(work, name)
  const args = ['build', join(ROOT, `scripts/bench/${name}.ts`), '-o', dir, '--source-map', '--no-source-map-register']
  await promisify(execFile)(join(ROOT, 'node_modules/.bin/ncc'), [...args, '--quiet'], { cwd: ROOT })
  return join(dir, 'index.js')
}

/**
 * Runs one script as a whole process, stdout to /dev/null; wall time from
 * spawn to exit, peak RSS from inside, and the outputs it wrote.
 */
async function measure(script: string, env: Record<string, string>, exitCode = 0): Promise<Sample> {
  const rssFile = join(work, 'rss')
  if (env.GITHUB_OUTPUT) writeFileSync(env.GITHUB_OUTPUT, '')
  if (env.GITHUB_STEP_SUMMARY) writeFileSync(env.GITHUB_STEP_SUMMARY, '')
  const started = process.hrtime.bigint()
  const child = spawn(NODE24, [...NODE_FLAGS, '--require', join(ROOT, 'scripts/bench/rss-probe.cjs'), script], {
    env: { ...env, BENCH_RSS_FILE: rssFile },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const code = await new Promise<number | null>(done => child.on('close', done))
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  if (code !== exitCode) throw new Error(`${script} exited with ${code}`)
  const outputs = env.GITHUB_OUTPUT ? parseOutputFile(readFileSync(env.GITHUB_OUTPUT, 'utf8')) : {}
  // The action's results file goes to RUNNER_TEMP: counted, then removed.
  const resultsFile = outputs['results-file']
  const listed = resultsFile ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as unknown[]).length : undefined
  if (resultsFile) rmSync(resultsFile, { force: true })
  return { ms, rssMiB: Number(readFileSync(rssFile, 'utf8')) / 1024, outputs, listed }
}

/** `runs` rounds, each script once a round in an order rotated each round, so drift on the machine hits all alike. */
async function interleave<S>(
  names: readonly Script[],
  runs: number,
  sample: (name: Script) => Promise<S>
): Promise<Record<Script, S[]>> {
  const samples = Object.fromEntries(SCRIPTS.map(name => [name, [] as S[]])) as Record<Script, S[]>
  for (let i = 0; i < runs; i++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(i + j) % names.length] as Script
      samples[name].push(await sample(name))
    }
  }
  return samples
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

const line = (cells: string[]): string => `| ${cells.join(' | ')} |`
const x = (ratio: number): string => `${ratio.toFixed(2)}x`
const mib = (value: number): string => `${value.toFixed(1)} MiB`
const plusMib = (delta: number): string => `${delta >= 0 ? '+' : '−'}${Math.abs(delta).toFixed(1)} MiB`
const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`
// The after column's ratios stand out: they are what the targets are about.
const strong = (name: Script, text: string): string => (name === 'after' ? `**${text}**` : text)
const load = (): string => loadavg()[0]?.toFixed(2) ?? '?'

async function withEmulator<T>(options: EmulatorOptions, fn: (emulator: Emulator) => Promise<T>): Promise<T> {
  const emulator = await startEmulator(options)
  try {
    return await fn(emulator)
  } finally {
    await emulator.close()
  }
}

/** Row 1: one abort, whole process, against the toolkit, undici and bare node:http floors. */
async function rowSingle(scripts: Scripts, runs: number): Promise<string[]> {
  const samples = await withEmulator({}, async emulator => {
    const sample = (name: Script): Promise<Sample> =>
      measure(scripts[name], runnerEnv(emulatorInputs(emulator.url, emulator.startUpload('abc-def-123')), {}))
    // One warm-up round, so the first measured run does not pay for a cold disk cache.
    await interleave(SCRIPTS, 1, sample)
    return interleave(SCRIPTS, runs, sample)
  })
  const ms = (name: Script): number => median(samples[name].map(s => s.ms))
  const rss = (name: Script): number => median(samples[name].map(s => s.rssMiB))
  const time = (name: Script): string => `${ms(name).toFixed(0)} ms`
  const overTime = (name: Script): string =>
    `${strong(name, x(ms(name) / ms('toolkit')))} toolkit; ${x(ms(name) / ms('undici'))} undici`
  const overRss = (name: Script): string =>
    `${strong(name, plusMib(rss(name) - rss('toolkit')))} toolkit; ${plusMib(rss(name) - rss('undici'))} undici`
  return [
    line([
      `1. single abort, wall time (median of ${runs})`,
      time('before'),
      time('after'),
      `toolkit ${time('toolkit')}; undici ${time('undici')}; bare node:http ${time('bare')}`,
      overTime('after'),
      overTime('before'),
      '≤ 1.05x toolkit',
      `toolkit floor ${x(ms('toolkit') / ms('bare'))} bare, undici floor ${x(ms('undici') / ms('bare'))} bare`
    ]),
    line([
      `1. single abort, peak RSS (median of ${runs})`,
      mib(rss('before')),
      mib(rss('after')),
      `toolkit ${mib(rss('toolkit'))}; undici ${mib(rss('undici'))}; bare node:http ${mib(rss('bare'))}`,
      overRss('after'),
      overRss('before'),
      '≤ +4 MiB over toolkit',
      ''
    ])
  ]
}

interface Batch {
  readonly row: number
  readonly title: string
  readonly count: number
  readonly concurrency: number
  readonly options: EmulatorOptions
  /** The floor of a run that sent its first request at `firstAt` (epoch ms), and how it is named. */
  readonly floor: { readonly name: string; readonly ms: (firstAt: number) => number }
  readonly target: string
  readonly runs: number
}

interface BatchSample extends Sample {
  /** Wall time over the computed floor of this run. */
  ratio: number
  limited: number
  open: number
  maxConcurrent: number
}

/** One run of a batch on a fresh emulator, so no run inherits another's window or uploads. */
function batchSample(batch: Batch, script: string): Promise<BatchSample> {
  return withEmulator(batch.options, async emulator => {
    const file = join(work, 'uploads.json')
    const uploads = Array.from({ length: batch.count }, () => emulator.startUpload('abc-def-123'))
    writeFileSync(file, JSON.stringify(uploads.map(u => ({ key: u.key, uploadId: u.uploadId }))))
    const inputs = emulatorInputs(emulator.url, undefined, {
      'uploads-file': file,
      concurrency: String(batch.concurrency),
      timeout: '300'
    })
    const sample = await measure(script, runnerEnv(inputs, { output: join(work, 'output') }))
    if (sample.outputs['failed-count'] !== '0') throw new Error(`${script}: ${sample.outputs['failed-count']} failed`)
    const firstAt = emulator.abortRequests()[0]?.receivedAt ?? 0
    const { rateLimited, maxConcurrent } = emulator.stats()
    return {
      ...sample,
      ratio: sample.ms / batch.floor.ms(firstAt),
      limited: rateLimited,
      open: emulator.openUploads(),
      maxConcurrent
    }
  })
}

/**
 * Rows 2 to 5: a batch against a computed floor and the undici floor. Each
 * run is set against its own computed floor (where a run starts in a rate-limit
 * window moves it); "x undici" is the action's median ratio over the undici
 * floor's.
 */
async function rowBatch(scripts: Scripts, batch: Batch): Promise<string> {
  const names: Script[] = ['before', 'after', 'undici']
  const samples = await interleave(names, batch.runs, name => batchSample(batch, scripts[name]))
  const ratio = (name: Script): number => median(samples[name].map(s => s.ratio))
  const time = (name: Script): string => seconds(median(samples[name].map(s => s.ms)))
  const floors = [...new Set(samples.after.map(s => s.ms / s.ratio).map(seconds))].sort()
  const over = (name: Script): string =>
    `${strong(name, x(ratio(name)))} ${batch.floor.name}; ${strong(name, x(ratio(name) / ratio('undici')))} undici`
  const most = (field: 'limited' | 'open' | 'maxConcurrent'): string =>
    names.map(name => Math.max(...samples[name].map(s => s[field]))).join('/')
  const floorTimes = floors.length > 2 ? `${floors[0]} to ${floors.at(-1)}` : floors.join(', ')
  return line([
    `${batch.row}. ${batch.title} (median of ${batch.runs})`,
    time('before'),
    time('after'),
    `${batch.floor.name} ${floorTimes}; undici ${time('undici')} (${x(ratio('undici'))} ${batch.floor.name})`,
    over('after'),
    over('before'),
    batch.target,
    `most in a run (before/after/undici): 429s ${most('limited')}, left open ${most('open')}, in flight ${most('maxConcurrent')}; none failed`
  ])
}

/**
 * The floor a client that knows only Datadog's documented headers can reach
 * under calendar-aligned windows: the waits X-RateLimit-Reset announces
 * (whole seconds) before the last window the uploads need. The first is the
 * rest of the first window, rounded up; each later one is a whole period,
 * since a client that waited a rounded-up reset starts its window a little late.
 */
function windowFloor(count: number, limit: number, periodSeconds: number): (firstAt: number) => number {
  const periodMs = periodSeconds * 1000
  const windows = Math.ceil(count / limit)
  return firstAt => {
    const firstRest = Math.ceil((periodMs - (firstAt % periodMs)) / 1000) * 1000
    return windows < 2 ? 0 : firstRest + (windows - 2) * periodMs
  }
}

function batches(): Batch[] {
  const limited = (limit: number, periodSeconds: number): EmulatorOptions => ({
    rateLimit: { limit, periodSeconds },
    latencyMs: 25
  })
  const window = (row: number, count: number, limit: number, periodSeconds: number, runs: number): Batch => ({
    row,
    title: `${count} uploads, limit ${limit} per ${periodSeconds} s window (calendar aligned), 25 ms latency, concurrency 4`,
    count,
    concurrency: 4,
    options: limited(limit, periodSeconds),
    floor: { name: 'window floor', ms: windowFloor(count, limit, periodSeconds) },
    target: '≤ 1.10x',
    runs
  })
  return [
    {
      row: 2,
      title: '500 uploads, limit 50/s, 25 ms latency, concurrency 4',
      count: 500,
      concurrency: 4,
      options: limited(50, 1),
      floor: { name: 'rate floor', ms: () => (500 / 50) * 1000 },
      target: '≤ 1.10x',
      runs: 3
    },
    {
      row: 3,
      title: '1000 uploads, no limit, 25 ms latency, concurrency 16',
      count: 1000,
      concurrency: 16,
      options: { latencyMs: 25 },
      floor: { name: 'latency floor', ms: () => (1000 / 16) * 25 },
      target: '≤ 1.2x',
      runs: 9
    },
    window(4, 40, 10, 1, 7),
    window(5, 75, 30, 10, 3)
  ]
}

// 10,000 uploads whose every answer is a 400 holding 64 KiB of error
// messages: peak memory of the whole process against the undici floor (the
// same requests and answers through @actions/core's process and undici,
// nothing kept), and the largest output, which GitHub caps at 1 MiB for all
// outputs together and for the summary.
const VOLUME = 10_000
const VOLUME_BODY = JSON.stringify({ errors: Array.from({ length: 190 }, (_, i) => `${'é'.repeat(170)} ${i}`) })

interface VolumeSample extends Sample {
  outputBytes: number
  summaryBytes: number
  largest: readonly [string, number]
}

function volumeSample(script: string): Promise<VolumeSample> {
  return withEmulator({}, async emulator => {
    const uploads = Array.from({ length: VOLUME }, () => emulator.startUpload('abc-def-123'))
    emulator.setFaults(uploads.map((): Fault => ({ kind: 'status', status: 400, body: VOLUME_BODY })))
    const file = join(work, 'uploads-volume.json')
    writeFileSync(file, JSON.stringify(uploads.map(u => ({ key: u.key, uploadId: u.uploadId }))))
    const output = join(work, 'volume-output')
    const summary = join(work, 'volume-summary')
    const inputs = emulatorInputs(emulator.url, undefined, { 'uploads-file': file, concurrency: '16', timeout: '600' })
    const sample = await measure(script, runnerEnv(inputs, { output, summary }), 1)
    if (sample.outputs['failed-count'] !== String(VOLUME)) throw new Error(`${script} did not get its 400s`)
    const largest = Object.entries(sample.outputs)
      .map(([name, value]) => [name, Buffer.byteLength(value, 'utf8')] as const)
      .reduce((a, b) => (b[1] > a[1] ? b : a))
    return { ...sample, outputBytes: readFileSync(output).length, summaryBytes: readFileSync(summary).length, largest }
  })
}

async function rowVolume(scripts: Scripts, runs: number): Promise<string[]> {
  const names: Script[] = ['before', 'after', 'undici']
  const samples = await interleave(names, runs, name => volumeSample(scripts[name]))
  const rss = (name: Script): number => median(samples[name].map(s => s.rssMiB))
  const ms = (name: Script): number => median(samples[name].map(s => s.ms))
  const kib = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`
  const most = (name: Script, size: (s: VolumeSample) => number): string => kib(Math.max(...samples[name].map(size)))
  const outputs = (name: Script): string => {
    const [largest, bytes] = samples[name].map(s => s.largest).reduce((a, b) => (b[1] > a[1] ? b : a))
    const listed = samples[name].map(s => s.listed).join('/')
    return `${name}: largest output \`${largest}\` ${kib(bytes)}, all ${most(name, s => s.outputBytes)}, summary ${most(name, s => s.summaryBytes)}, results file lists ${listed}`
  }
  const title = `6. ${VOLUME.toLocaleString('en')} uploads, each answered 400 with 64 KiB of errors, concurrency 16 (median of ${runs})`
  return [
    line([
      `${title}, peak RSS`,
      mib(rss('before')),
      mib(rss('after')),
      `undici ${mib(rss('undici'))}`,
      strong('after', x(rss('after') / rss('undici'))),
      x(rss('before') / rss('undici')),
      '≤ 1.25x; outputs and summary < 1 MiB',
      `${outputs('after')}; ${outputs('before')}`
    ]),
    line([
      `${title}, wall time`,
      seconds(ms('before')),
      seconds(ms('after')),
      `undici ${seconds(ms('undici'))}`,
      x(ms('after') / ms('undici')),
      x(ms('before') / ms('undici')),
      '',
      ''
    ])
  ]
}

async function main(): Promise<void> {
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  const node = execFileSync(NODE24, ['--version'], { encoding: 'utf8' }).trim()
  console.log(`Machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${node}`)
  console.log(`Load average (1 min) at start: ${load()}`)
  const started = Date.now()
  const scripts = await prepare()
  const release = execFileSync('git', ['show', `${BEFORE_REF}:package.json`], { cwd: ROOT, encoding: 'utf8' })
  const before = JSON.parse(release) as { version: string }
  const only = process.argv[2]
  const rows: string[] = []
  if (!only || only === '1') rows.push(...(await rowSingle(scripts, RUNS ?? 21)))
  for (const batch of batches()) {
    if (!only || only === String(batch.row)) rows.push(await rowBatch(scripts, { ...batch, runs: RUNS ?? batch.runs }))
  }
  if (!only || only === '6') rows.push(...(await rowVolume(scripts, RUNS ?? 3)))
  console.log(`Load average (1 min) at end: ${load()}; took ${seconds(Date.now() - started)}`)
  const header = [
    'row',
    `before (${before.version}, ${BEFORE_REF})`,
    'after (src/)',
    'floor',
    'after / floor',
    'before / floor',
    'target',
    'checks'
  ]
  console.log(`\n${line(header)}\n${line(header.map(() => '---'))}`)
  for (const row of rows) console.log(row)
}

try {
  await main()
} finally {
  rmSync(work, { recursive: true, force: true })
  if (process.env.ABORT_ACTION_TEST_BUNDLE) rmSync(dirname(dirname(testedBundle())), { recursive: true, force: true })
}
