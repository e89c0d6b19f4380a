// The floor of the 10,000-upload row: what any action built on
// @actions/core and @actions/http-client pays to send the same requests over
// node:http with kept-alive connections and read the same answers, keeping
// nothing of them and reporting nothing. Bundled with ncc like the action.
import { readFileSync } from 'node:fs'
import * as http from 'node:http'
import * as core from '@actions/core'
import { HttpClient } from '@actions/http-client'

// Loaded as the action loads it, though node:http sends the requests.
core.debug(`floor loaded ${new HttpClient('volume-floor').userAgent ?? ''}`)
const uploads = JSON.parse(readFileSync(core.getInput('uploads-file'), 'utf8')) as { key: string; uploadId: string }[]
const url = `${core.getInput('api-url')}/api/v2/synthetics/tests/${encodeURIComponent(core.getInput('test-id'))}/files/multipart-upload-abort`
const agent = new http.Agent({ keepAlive: true })
let failed = 0
const abort = (upload: { key: string; uploadId: string }): Promise<void> =>
  new Promise(done => {
    const body = JSON.stringify(upload)
    const headers = {
      'DD-API-KEY': core.getInput('api-key'),
      'DD-APPLICATION-KEY': core.getInput('app-key'),
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(body))
    }
    const req = http.request(url, { method: 'POST', agent, headers }, res => {
      if ((res.statusCode ?? 0) >= 300) failed++
      res.resume()
      res.on('end', done)
    })
    req.on('error', () => {
      failed++
      done()
    })
    req.end(body)
  })
let next = 0
const worker = async (): Promise<void> => {
  for (let upload = uploads[next++]; upload !== undefined; upload = uploads[next++]) await abort(upload)
}
await Promise.all(Array.from({ length: Number(core.getInput('concurrency')) }, worker))
agent.destroy()
core.setOutput('failed-count', String(failed))
