// Proxies and TLS, through the real bundle: a CONNECT proxy on 127.0.0.1 that
// tunnels a real Datadog host name to a local TLS server, and a server whose
// certificate is not trusted.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import { connect, createServer as createNetServer, type AddressInfo, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import type { Duplex } from 'node:stream'
import { join } from 'node:path'
import { annotations, leakedSecrets, runAction, tokenInputs } from '../support/runner.ts'

const API_KEY = '0123456789abcdef0123456789abcdef'
const APP_KEY = 'fedcba9876543210fedcba9876543210fedcba98'
const TOKEN = 'ddpat_XetifR5zR6P9UPu7rVw0lzUNEfxgwkd6'
const UPLOAD = { key: 'org-1/api-upload-file/abc-def-123/f.json', uploadId: 'up-1' }

interface Certificates {
  dir: string
  ca: string
  cert: string
  key: string
  selfSignedCert: string
  selfSignedKey: string
}

function makeCertificates(): Certificates {
  const dir = mkdtempSync(join(tmpdir(), 'abort-tls-'))
  const file = (name: string): string => join(dir, name)
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=Test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign'
  )
  openssl('req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=api.datadoghq.com')
  writeFileSync(
    file('ext.cnf'),
    'subjectAltName=DNS:api.datadoghq.com\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n'
  )
  openssl(
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-out',
    file('server.pem'),
    '-days',
    '2',
    '-extfile',
    file('ext.cnf')
  )
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    file('self.key'),
    '-out',
    file('self.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1'
  )
  return {
    dir,
    ca: file('ca.pem'),
    cert: file('server.pem'),
    key: file('server.key'),
    selfSignedCert: file('self.pem'),
    selfSignedKey: file('self.key')
  }
}

interface Received {
  method: string
  url: string
  headers: Record<string, string | string[] | undefined>
  body: string
}

async function listen<T extends Server | HttpsServer>(server: T): Promise<number> {
  await new Promise<void>(done => server.listen(0, '127.0.0.1', done))
  return (server.address() as AddressInfo).port
}

async function stop(server: Server | HttpsServer, sockets: Set<Duplex>): Promise<void> {
  for (const socket of sockets) socket.destroy()
  await new Promise(done => server.close(done))
}

let certs: Certificates
beforeAll(() => {
  certs = makeCertificates()
})
afterAll(() => {
  rmSync(certs.dir, { recursive: true, force: true })
})

function tlsServer(cert: string, key: string, received: Received[]): { server: HttpsServer; sockets: Set<Duplex> } {
  const sockets = new Set<Duplex>()
  const server = createHttpsServer({ cert: readText(cert), key: readText(key) }, (req, res) => {
    let body = ''
    req.setEncoding('utf8').on('data', (d: string) => (body += d))
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      res.writeHead(204).end()
    })
  })
  server.on('connection', s => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  return { server, sockets }
}

function readText(path: string): string {
  return execFileSync('cat', [path], { encoding: 'utf8' })
}

test('through an HTTPS proxy (CONNECT): the proxy sees only the Datadog host, the credentials go inside the tunnel', async () => {
  const received: Received[] = []
  const tls = tlsServer(certs.cert, certs.key, received)
  const tlsPort = await listen(tls.server)

  const connects: string[] = []
  const proxySockets = new Set<Duplex>()
  let proxySaw = ''
  const proxy = createNetServer(client => {
    proxySockets.add(client)
    client.once('data', head => {
      const text = head.toString('latin1')
      proxySaw += text
      const target = /^CONNECT ([^ ]+) HTTP\/1\.[01]\r\n/.exec(text)?.[1]
      if (!target) return void client.end('HTTP/1.1 405 Method Not Allowed\r\n\r\n')
      connects.push(target)
      // The test resolves the real host name to the local TLS server.
      const upstream = connect(tlsPort, '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
        upstream.pipe(client)
        client.pipe(upstream)
      })
      proxySockets.add(upstream)
      upstream.on('error', () => client.destroy())
      client.on('error', () => upstream.destroy())
    })
  })
  const proxyPort = await listen(proxy)
  try {
    const keys = { 'api-key': API_KEY, 'app-key': APP_KEY }
    const runs = [
      { variable: 'https_proxy', credentials: keys, headers: { 'dd-api-key': API_KEY, 'dd-application-key': APP_KEY } },
      { variable: 'HTTPS_PROXY', credentials: keys, headers: { 'dd-api-key': API_KEY, 'dd-application-key': APP_KEY } },
      { variable: 'https_proxy', credentials: tokenInputs(TOKEN), headers: { authorization: `Bearer ${TOKEN}` } }
    ]
    for (const { variable, credentials, headers } of runs) {
      connects.length = 0
      received.length = 0
      const result = await runAction({
        inputs: {
          ...credentials,
          site: 'US1',
          'test-id': 'abc-def-123',
          key: UPLOAD.key,
          'upload-id': UPLOAD.uploadId,
          'max-retries': '0',
          timeout: '10'
        },
        env: { [variable]: `http://127.0.0.1:${proxyPort}`, NODE_EXTRA_CA_CERTS: certs.ca }
      })
      expect(result.code).toBe(0)
      expect(connects).toEqual(['api.datadoghq.com:443'])
      expect(received).toHaveLength(1)
      expect(received[0]?.url).toBe('/api/v2/synthetics/tests/abc-def-123/files/multipart-upload-abort')
      const sent = Object.entries(received[0]?.headers ?? {}).filter(([name]) => /^(dd-|authorization$)/.test(name))
      expect(Object.fromEntries(sent)).toEqual(headers)
      expect(received[0]?.headers['host']).toBe('api.datadoghq.com')
      expect(result.outputs['status']).toBe('204')
      expect(result.stdout).toContain('on datadoghq.com (US1)')
      expect(leakedSecrets(result, [API_KEY, APP_KEY, TOKEN])).toEqual([])
    }
    for (const secret of [API_KEY, APP_KEY, TOKEN]) expect(proxySaw).not.toContain(secret)
  } finally {
    await stop(proxy, proxySockets)
    await stop(tls.server, tls.sockets)
  }
})

/** One upload, sent to https://127.0.0.1:port. */
function httpsInputs(port: number): Record<string, string> {
  return {
    'api-key': API_KEY,
    'app-key': APP_KEY,
    'api-url': `https://127.0.0.1:${port}`,
    key: UPLOAD.key,
    'upload-id': UPLOAD.uploadId
  }
}

/** Runs the action once against a local TLS server with the self-signed certificate. */
async function againstSelfSigned(env: Record<string, string>) {
  const received: Received[] = []
  const tls = tlsServer(certs.selfSignedCert, certs.selfSignedKey, received)
  const port = await listen(tls.server)
  try {
    const result = await runAction({
      inputs: { ...httpsInputs(port), 'test-id': 'abc-def-123' },
      env
    })
    expect(leakedSecrets(result, [API_KEY, APP_KEY])).toEqual([])
    return { result, received }
  } finally {
    await stop(tls.server, tls.sockets)
  }
}

test('an untrusted certificate fails at once, names the TLS problem, and sends nothing', async () => {
  const { result, received } = await againstSelfSigned({})
  expect(result.code).toBe(1)
  expect(received).toEqual([])
  expect(result.outputs['attempts']).toBe('1')
  const failure = annotations(result, 'error').at(-1) ?? ''
  expect(failure).toMatch(/TLS certificate is self-signed and not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\)/)
  expect(failure).toMatch(/NODE_EXTRA_CA_CERTS/)
})

test('the same certificate is accepted once its CA is trusted (verification stays on, it is not bypassed)', async () => {
  const { result, received } = await againstSelfSigned({ NODE_EXTRA_CA_CERTS: certs.selfSignedCert })
  expect(result.code).toBe(0)
  expect(received).toHaveLength(1)
})

test('an https:// api-url on a plain-HTTP server: one attempt, the mistake named on one line, no OpenSSL text', async () => {
  const received: string[] = []
  const sockets = new Set<Duplex>()
  const plain = createHttpServer((req, res) => {
    received.push(req.url ?? '')
    res.writeHead(204).end()
  })
  plain.on('connection', socket => sockets.add(socket))
  const port = await listen(plain)
  try {
    const result = await runAction({
      inputs: httpsInputs(port)
    })
    expect(result.code).toBe(1)
    expect(result.outputs['attempts']).toBe('1')
    expect(result.stdout).not.toMatch(/^Attempt \d+ of/m)
    const errors = annotations(result, 'error')
    const failure = errors.at(-1) ?? ''
    expect(failure).toContain('the server answers in plain HTTP, not TLS (ERR_SSL_WRONG_VERSION_NUMBER)')
    expect(failure).toContain('For a local emulator, start "api-url" with http://; otherwise check the port')
    expect(failure).not.toMatch(/proxy|SSL routines|openssl|EPROTO/i)
    for (const text of [...errors, ...JSON.parse(result.outputs['errors'] ?? '[]')]) expect(text).not.toMatch(/[\r\n]/)
    expect(leakedSecrets(result, [API_KEY, APP_KEY])).toEqual([])
  } finally {
    await stop(plain, sockets)
  }
})

test('a TLS handshake that never completes: the process ends within 1.5 s of the timeout, not at the connect timeout', async () => {
  const sockets = new Set<Duplex>()
  const silent = createNetServer(socket => {
    sockets.add(socket)
    socket.on('error', () => undefined)
  })
  const port = await listen(silent)
  try {
    const result = await runAction({
      inputs: { ...httpsInputs(port), 'test-id': 'abc-def-123', timeout: '3', 'max-retries': '0' },
      killAfterMs: 20_000
    })
    expect(result.killed).toBe(false)
    expect(result.code).toBe(1)
    expect(result.runMs).toBeLessThan(4500)
    expect(annotations(result, 'error').at(-1)).toMatch(/No answer in time from 127\.0\.0\.1/)
  } finally {
    await stop(silent, sockets)
  }
})
