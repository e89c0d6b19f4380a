// Every timer the emulator starts, so that close() can stop them all and
// leave no handle that keeps a test process alive.
export class Timers {
  private readonly pending = new Set<NodeJS.Timeout>()

  later(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.pending.delete(timer)
      fn()
    }, ms)
    this.pending.add(timer)
    return timer
  }

  every(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setInterval(fn, ms)
    this.pending.add(timer)
    return timer
  }

  cancel(timer: NodeJS.Timeout): void {
    clearTimeout(timer)
    this.pending.delete(timer)
  }

  // On close the pending timer is cleared and the promise never settles; the
  // socket it would have answered is destroyed at the same moment.
  sleep(ms: number): Promise<void> {
    return ms > 0 ? new Promise(resolve => this.later(ms, resolve)) : Promise.resolve()
  }

  clear(): void {
    for (const timer of this.pending) clearTimeout(timer)
    this.pending.clear()
  }
}
