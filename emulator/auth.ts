// Who may call what: a key pair by its permissions, a bearer token by its
// scopes and expiry, refused in Datadog's words.
import type { IncomingMessage } from 'node:http'
import { errorReply, forbiddenReply, type Reply } from './reply.ts'
import type { AccessToken, KeyPair } from './types.ts'

export type Operation = 'multipart-presigned-urls' | 'multipart-upload-complete' | 'multipart-upload-abort' | 'download'

const WRITE = ['synthetics_write', 'synthetics_create_edit_trigger']
// Any one of these permissions lets a key pair call the operation.
const PERMISSIONS: Record<Operation, string[]> = {
  'multipart-presigned-urls': WRITE,
  'multipart-upload-complete': WRITE,
  'multipart-upload-abort': WRITE,
  download: ['synthetics_read']
}
// A bearer token needs its scope: Datadog's API description names
// synthetics_write for the write operations.
const SCOPES: Record<Operation, string> = {
  'multipart-presigned-urls': 'synthetics_write',
  'multipart-upload-complete': 'synthetics_write',
  'multipart-upload-abort': 'synthetics_write',
  download: 'synthetics_read'
}
const BEARER = /^Bearer ([\x21-\x7e]+)$/i

export interface Credentials {
  readonly keyPairs: readonly KeyPair[]
  readonly accessTokens: readonly AccessToken[]
}

/** Why the request may not run `op`, as Datadog words it; undefined when it may. */
export function refusal(req: IncomingMessage, op: Operation, known: Credentials): Reply | undefined {
  // A request with an Authorization header is judged by its token alone.
  if (req.headers.authorization !== undefined) {
    const token = BEARER.exec(req.headers.authorization)?.[1]
    const found = known.accessTokens.find(t => t.token === token)
    // Datadog revokes an expired token: it is as unknown as a wrong one.
    if (!found || (found.expiresAt !== undefined && found.expiresAt <= Date.now())) {
      return errorReply(401, 'Unauthorized')
    }
    if (!found.scopes.includes(SCOPES[op])) return forbiddenReply('Forbidden', 'Failed permission authorization checks')
    return undefined
  }
  const pair = known.keyPairs.find(
    p => p.apiKey === req.headers['dd-api-key'] && p.appKey === req.headers['dd-application-key']
  )
  if (!pair) return forbiddenReply('Forbidden')
  if (!pair.permissions.some(p => PERMISSIONS[op].includes(p))) {
    return forbiddenReply('Forbidden', 'Failed permission authorization checks')
  }
  return undefined
}
