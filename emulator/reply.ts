// An answer as a value: the router and the fault injector build them, and
// only send() writes one to a socket.
import { STATUS_CODES, type OutgoingHttpHeaders, type ServerResponse } from 'node:http'

export interface Reply {
  status: number
  headers?: OutgoingHttpHeaders
  body?: string | Buffer
}

export const jsonReply = (status: number, value: unknown): Reply => ({
  status,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(value)
})

export const errorReply = (status: number, ...errors: string[]): Reply => jsonReply(status, { errors })

// Recorded 403s of Datadog's API carry these two fields beside `errors`.
export const forbiddenReply = (...errors: string[]): Reply => jsonReply(403, { errors, status: 'error', code: 403 })

export const withHeaders = (reply: Reply, headers: OutgoingHttpHeaders): Reply => ({
  ...reply,
  headers: { ...reply.headers, ...headers }
})

export const reasonOf = (status: number): string => STATUS_CODES[status] ?? 'Error'

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

export function send(res: ServerResponse, reply: Reply): void {
  const body = reply.body ?? ''
  res.writeHead(reply.status, { ...reply.headers, 'Content-Length': Buffer.byteLength(body) })
  res.end(body)
}
