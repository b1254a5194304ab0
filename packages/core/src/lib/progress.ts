/**
 * Progress of a step that can take more than a second, on stderr only (stdout is for the result and --json).
 * Silent when quiet (--json). On a terminal the current line is rewritten (at most every 100 ms); without one,
 * only the line that ends each step is written, so logs get one line per step.
 */
export interface Progress {
  /** Ends the current step with its final line (always written unless quiet). */
  done(line: string): void
  /** The current state of a step (terminal only, throttled). */
  update(line: string): void
}

export interface ProgressOptions {
  quiet: boolean
  stream?: NodeJS.WriteStream
}

const THROTTLE_MS = 100

export function progress({quiet, stream = process.stderr}: ProgressOptions): Progress {
  if (quiet) return {done() {}, update() {}}
  const tty = Boolean(stream.isTTY)
  let last = 0
  let live = false
  return {
    done(line) {
      stream.write(`${tty && live ? '\r\u001B[2K' : ''}${line}\n`)
      live = false
    },
    update(line) {
      if (!tty) return
      const now = Date.now()
      if (now - last < THROTTLE_MS) return
      last = now
      stream.write(`\r\u001B[2K${line}`)
      live = true
    },
  }
}

/** `1.2 s` / `340 ms`. */
export const elapsed = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`)

/** Bytes and rate of a transfer, e.g. `120.0 MB at 45.3 MB/s`. */
export function transferLine(bytes: number, ms: number): string {
  const mb = bytes / 1_000_000
  const rate = ms > 0 ? mb / (ms / 1000) : 0
  return `${mb.toFixed(1)} MB at ${rate.toFixed(1)} MB/s`
}

/** A throttled counter for document reads: `MongoDB: runs 12000 documents`. */
export function documentCounter(p: Progress, label = 'MongoDB'): (collection: string, count: number) => void {
  return (collection, count) => p.update(`${label}: reading ${collection}: ${count} documents`)
}
