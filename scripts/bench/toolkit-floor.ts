// The toolkit floor: the least any action built on @actions/core and
// @actions/http-client pays for one abort. Bundled with ncc like the action.
import * as core from '@actions/core'
import { HttpClient } from '@actions/http-client'

const client = new HttpClient('toolkit-floor')
const response = await client.post(
  `${core.getInput('api-url')}/api/v2/synthetics/tests/${encodeURIComponent(core.getInput('test-id'))}/files/multipart-upload-abort`,
  JSON.stringify({ key: core.getInput('key'), uploadId: core.getInput('upload-id') }),
  {
    'DD-API-KEY': core.getInput('api-key'),
    'DD-APPLICATION-KEY': core.getInput('app-key'),
    'Content-Type': 'application/json'
  }
)
await response.readBody()
core.setOutput('status', String(response.message.statusCode))
if (response.message.statusCode !== 204) core.setFailed(`status ${response.message.statusCode}`)
