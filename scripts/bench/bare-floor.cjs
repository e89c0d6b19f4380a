// The physical floor of a single abort: Node's start-up and one round trip
// with node:http, reading the same inputs, and nothing else.
'use strict'
const http = require('node:http')
const input = name => process.env[`INPUT_${name.toUpperCase()}`] || ''
const body = JSON.stringify({ key: input('key'), uploadId: input('upload-id') })
const url = `${input('api-url')}/api/v2/synthetics/tests/${encodeURIComponent(input('test-id'))}/files/multipart-upload-abort`
const req = http.request(
  url,
  {
    method: 'POST',
    headers: {
      'DD-API-KEY': input('api-key'),
      'DD-APPLICATION-KEY': input('app-key'),
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body)
    }
  },
  res => {
    res.resume()
    res.on('end', () => {
      process.exitCode = res.statusCode === 204 ? 0 : 1
    })
  }
)
req.end(body)
