// The fault injector: answers an abort request the way a failing Datadog, or
// a proxy in front of it, would. Faults are queued and taken one per abort.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { reasonOf, send, type Reply } from './reply.ts'
import type { Timers } from './timers.ts'
import type { Fault } from './types.ts'

const CHUNK_BYTES = 64 * 1024
const FILLER = Buffer.alloc(CHUNK_BYTES, 'x')

const errorsBody = (status: number): string => JSON.stringify({ errors: [reasonOf(status)] })

function nginxPage(status: number): string {
  const title = `${status} ${reasonOf(status)}`
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`
}

function waitForDrainOrClose(res: ServerResponse): Promise<void> {
  return new Promise<void>(resolve => {
    const done = (): void => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}

async function streamHugeBody(res: ServerResponse, total: number): Promise<void> {
  let closed = false
  res.once('close', () => {
    closed = true
  })
  const head = '{"errors":["'
  const tail = '"]}'
  // Too small to hold the JSON frame: plain filler, which is "or not".
  const framed = total >= head.length + tail.length
  let remaining = framed ? total - head.length - tail.length : total
  if (framed) res.write(head)
  while (remaining > 0 && !closed) {
    const n = Math.min(CHUNK_BYTES, remaining)
    remaining -= n
    if (!res.write(FILLER.subarray(0, n))) await waitForDrainOrClose(res)
  }
  if (!closed) res.end(framed ? tail : undefined)
}

export class FaultInjector {
  private queue: Fault[]
  private readonly timers: Timers

  constructor(timers: Timers, faults: Fault[] = []) {
    this.timers = timers
    this.queue = [...faults]
  }

  set(faults: Fault[]): void {
    this.queue = [...faults]
  }

  /** The next fault; taken on arrival, so that concurrent aborts get them in arrival order. */
  take(): Fault | undefined {
    return this.queue.shift()
  }

  /** Answers with `fault`; `realAnswer` does what the request asked, for faults that lose a real answer. */
  async apply(fault: Fault, req: IncomingMessage, res: ServerResponse, realAnswer: () => Reply): Promise<void> {
    switch (fault.kind) {
      case 'status':
        send(res, {
          status: fault.status,
          headers: { 'Content-Type': 'application/json', ...fault.headers },
          body: fault.body ?? errorsBody(fault.status)
        })
        return
      case 'abort-then-status':
        realAnswer()
        send(res, {
          status: fault.status,
          headers: { 'Content-Type': 'application/json' },
          body: fault.body ?? errorsBody(fault.status)
        })
        return
      case 'abort-then-reset':
        realAnswer()
        req.socket.destroy()
        return
      case 'reset':
        req.socket.destroy()
        return
      case 'stall-before-headers':
        return
      case 'stall-mid-body':
      case 'reset-mid-body':
      case 'truncated':
        this.partialBody(fault.kind, fault.status ?? 500, req, res)
        return
      case 'trickle':
        this.trickle(fault.status ?? 503, fault.intervalMs ?? 200, res)
        return
      case 'huge-body': {
        const total = fault.bytes ?? Number.POSITIVE_INFINITY
        const headers: OutgoingHttpHeaders = { 'Content-Type': 'application/json' }
        if (Number.isFinite(total)) headers['Content-Length'] = total
        res.writeHead(fault.status ?? 500, headers)
        await streamHugeBody(res, total)
        return
      }
      case 'redirect':
        send(res, { status: fault.status ?? 302, headers: { Location: fault.location } })
        return
      case 'html':
        send(res, { status: fault.status, headers: { 'Content-Type': 'text/html' }, body: nginxPage(fault.status) })
        return
    }
  }

  private partialBody(
    kind: 'stall-mid-body' | 'reset-mid-body' | 'truncated',
    status: number,
    req: IncomingMessage,
    res: ServerResponse
  ): void {
    const full = Buffer.from(errorsBody(status))
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': full.length })
    res.write(full.subarray(0, Math.floor(full.length / 2)))
    // The pause lets the client take the headers before the socket goes,
    // so the failure lands while reading the body, not while connecting.
    if (kind === 'reset-mid-body') this.timers.later(50, () => req.socket.destroy())
    if (kind === 'truncated') this.timers.later(50, () => req.socket.end())
  }

  private trickle(status: number, intervalMs: number, res: ServerResponse): void {
    const text = errorsBody(status).slice(0, -3)
    res.writeHead(status, { 'Content-Type': 'application/json' })
    // Node holds headers back until the first body write; a trickle
    // server shows its status line at once.
    res.flushHeaders()
    let sent = 0
    const timer = this.timers.every(intervalMs, () => {
      res.write(sent < text.length ? text.charAt(sent) : '.')
      sent++
    })
    res.once('close', () => this.timers.cancel(timer))
  }
}
