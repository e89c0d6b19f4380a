import { describeStatus } from './status.js'
import { oneLine } from '../text/text.js'
import type { SendFailure } from './sent.js'

/** Why an attempt's signal fired: the step was cancelled, ran out of time, or the attempt did. */
export type AbortReason = 'cancelled' | 'deadline' | 'attempt-timeout'

/** Who a failure is about: the server, or the proxy (by its address) while the tunnel is opened. */
export type Phase = 'server' | { readonly proxy: string }

type Failure = Omit<SendFailure, 'requestSent'>

/** The failure an attempt comes to when its signal fires. */
export function fromSignal(reason: unknown, phase: Phase): Failure {
  if (reason === 'cancelled') return { kind: 'cancelled', code: 'cancelled', message: 'the step was cancelled' }
  if (phase !== 'server')
    return proxyTimeout('proxy-timeout', `the proxy ${phase.proxy} did not open the tunnel in time`)
  if (reason === 'deadline') return { kind: 'timeout', code: 'deadline', message: 'the step ran out of time' }
  return { kind: 'timeout', code: 'attempt-timeout', message: 'the attempt took too long' }
}

function proxyTimeout(code: string, message: string): Failure {
  return { kind: 'timeout', code, message: `${message} (${code})` }
}

/** The failure an error of undici's or of the system stands for. */
export function failureOf(error: Error, phase: Phase, idleMs: number): Failure {
  const code = codeOf(error)
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    const message = `no data for ${Math.round(idleMs / 1000)} s`
    return phase === 'server' ? { kind: 'timeout', code: 'idle', message } : proxySilent(phase.proxy)
  }
  if (phase !== 'server') {
    // An https:// proxy's own certificate: named as the proxy's, still a TLS failure that is not retried.
    const message = isTlsError(code)
      ? `the proxy ${phase.proxy}: ${networkMessage(code, error.message)}`
      : `${proxyProblem(phase.proxy, code, error.message)} (${code})`
    return { kind: 'network', code, message }
  }
  return { kind: 'network', code, message: networkMessage(code, error.message) }
}

function codeOf(error: Error): string {
  const { code, cause } = error as Error & { code?: unknown; cause?: { code?: unknown } }
  const found = typeof code === 'string' ? code : typeof cause?.code === 'string' ? cause.code : 'error'
  // OpenSSL reports an https:// request answered in plain HTTP as EPROTO, its reason inside the message.
  return found === 'EPROTO' && /wrong version number|packet length too long/i.test(error.message) ? NOT_TLS : found
}

/** A proxy that sent nothing back to CONNECT within the idle limit. */
export function proxySilent(label: string): Failure {
  return proxyTimeout('proxy-idle', `the proxy ${label} did not answer the CONNECT request`)
}

/** A proxy that answered CONNECT with anything but 2xx. */
export function proxyRefused(label: string, status: number): Failure {
  const code = `PROXY_${status}`
  return {
    kind: 'network',
    code,
    message: `the proxy ${label} refused the tunnel: ${describeStatus(status)} (${code})`
  }
}

function proxyProblem(label: string, code: string, message: string): string {
  if (code === 'ECONNREFUSED') return `the proxy ${label} refused the connection`
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the proxy host ${label} was not found (DNS)`
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET')
    return `the proxy ${label} closed the connection instead of opening the tunnel`
  if (code.startsWith('HPE_')) return `the proxy ${label} answered CONNECT with something that is not HTTP`
  return `the proxy ${label} could not be used: ${oneLine(message, 120)}`
}

/** Failures no retry can mend: a proxy that wants credentials or forbids the host, or a proxy setting that is not a URL. */
const PERMANENT_PROXY_CODES = new Set(['PROXY_407', 'PROXY_403', 'EPROXYURL'])

/** A failure that fails the same way again: an untrusted certificate, a proxy that refuses us or is not a URL. */
export function isPermanentFailure(code: string): boolean {
  return isTlsError(code) || PERMANENT_PROXY_CODES.has(code)
}

export function isTlsError(code: string): boolean {
  return /CERT|TLS|SSL|SIGNATURE|ISSUER/.test(code)
}

/** The code of an https:// request answered in plain HTTP (an http:// server, or the wrong port). */
export const NOT_TLS = 'ERR_SSL_WRONG_VERSION_NUMBER'

const NETWORK_MESSAGES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  // undici's word for a connection the other side closed before the answer was whole.
  UND_ERR_SOCKET: 'connection reset: the other side closed it',
  EPIPE: 'connection closed while sending',
  ENOTFOUND: 'host name not found (DNS)',
  EAI_AGAIN: 'temporary DNS failure',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  ENETUNREACH: 'network unreachable',
  EHOSTUNREACH: 'host unreachable',
  ECONNABORTED: 'connection aborted',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS certificate is self-signed and not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS certificate chain has an untrusted self-signed certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate cannot be verified',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'TLS certificate issuer is not trusted',
  CERT_HAS_EXPIRED: 'TLS certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not match the host name',
  [NOT_TLS]: 'the server answers in plain HTTP, not TLS'
}

function networkMessage(code: string, fallback: string): string {
  const known = NETWORK_MESSAGES[code]
  if (known) return `${known} (${code})`
  if (isTlsError(code)) return `TLS error (${code})`
  if (code.startsWith('HPE_')) return `the answer is not valid HTTP (${code})`
  const openssl = /SSL routines:[^:]*:([^:]+)/.exec(fallback)
  if (openssl?.[1]) return `TLS failure: ${oneLine(openssl[1], 100)} (${code})`
  // Node's and undici's own messages name the address, never a header.
  return `${oneLine(fallback, 200)} (${code})`
}
