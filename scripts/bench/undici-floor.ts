// The undici floor: the least an action built on @actions/core can do with
// undici's `request`, the client the action sends with. It reads the same
// inputs, sends the same requests and reads and drops each answer, keeping
// nothing and reporting only how many failed. A batch goes as the action
// sends one: the first upload alone, then `concurrency` at a time; a spent
// rate-limit window is waited out for as long as X-RateLimit-Reset says.
// Bundled with ncc like the action.
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import * as core from '@actions/core'
import { Agent, request } from 'undici'

interface Upload {
  readonly key: string
  readonly uploadId: string
}

const url = `${core.getInput('api-url')}/api/v2/synthetics/tests/${encodeURIComponent(core.getInput('test-id'))}/files/multipart-upload-abort`
const headers = {
  'DD-API-KEY': core.getInput('api-key'),
  'DD-APPLICATION-KEY': core.getInput('app-key'),
  'Content-Type': 'application/json'
}
const file = core.getInput('uploads-file')
const uploads = file
  ? (JSON.parse(readFileSync(file, 'utf8')) as Upload[])
  : [{ key: core.getInput('key'), uploadId: core.getInput('upload-id') }]
// Kept-alive connections, as the action's Agent keeps them.
const agent = new Agent()

// The rate limit as the answers tell it. Requests are numbered; the latest
// answer says what the window has left, less the requests sent after it,
// and when the window turns (X-RateLimit-Reset, whole seconds rounded up).
let sent = 0
let applied = 0
let budget = Infinity
let limit = Infinity
let resetAt = Infinity

async function turn(): Promise<number> {
  while (budget <= 0) {
    // No answer from this window yet: one is on its way.
    if (resetAt === Infinity) await sleep(5)
    else if (Date.now() < resetAt) await sleep(resetAt - Date.now())
    else {
      // A new window: answers to earlier requests speak of the one before.
      budget = limit
      applied = sent
      resetAt = Infinity
    }
  }
  budget--
  return ++sent
}

function learn(status: number, answer: Record<string, string | string[] | undefined>, request: number): void {
  const remaining = answer['x-ratelimit-remaining']
  const reset = answer['x-ratelimit-reset']
  if (typeof remaining !== 'string' || typeof reset !== 'string' || request <= applied) return
  const left = status === 429 ? 0 : Number(remaining) - (sent - request)
  const at = Date.now() + Number(reset) * 1000
  // More left than counted on: the server's window has turned, and its reset is the one to wait for.
  if (status === 429 || left > budget || at < resetAt) resetAt = at
  limit = Number(answer['x-ratelimit-limit'])
  applied = request
  budget = left
}

let failed = 0
async function abort(upload: Upload): Promise<void> {
  for (;;) {
    const number = await turn()
    const answer = await request(url, { method: 'POST', headers, body: JSON.stringify(upload), dispatcher: agent })
    // Read to the end and dropped: the connection goes back to the pool.
    await answer.body.dump()
    learn(answer.statusCode, answer.headers, number)
    if (answer.statusCode === 429) continue
    if (answer.statusCode >= 300) failed++
    return
  }
}

let next = 1
const worker = async (): Promise<void> => {
  for (let upload = uploads[next++]; upload !== undefined; upload = uploads[next++]) await abort(upload)
}
if (uploads[0]) await abort(uploads[0])
await Promise.all(Array.from({ length: Number(core.getInput('concurrency')) }, worker))
await agent.destroy()
core.setOutput('failed-count', String(failed))
// Exits as the action does: 1 when an upload failed.
process.exitCode = failed > 0 ? 1 : 0
