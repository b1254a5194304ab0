import {setTimeout as sleep} from 'node:timers/promises'

/**
 * Token bucket by reservation: each caller takes a token now or reserves a future one and sleeps until then,
 * so callers are never serialised behind a lock (the predecessor slept while holding one).
 * `pauseUntil` lets a 429/503 Retry-After hold every caller at once.
 */
export class TokenBucket {
  private pausedUntil = 0
  private stamp = Date.now()
  private tokens: number

  constructor(
    private readonly rate: number,
    private readonly capacity: number,
  ) {
    this.tokens = capacity
  }

  async acquire(): Promise<void> {
    let now = Date.now()
    if (this.pausedUntil > now) {
      await sleep(this.pausedUntil - now)
      now = Date.now()
    }

    if (!Number.isFinite(this.rate)) return
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.stamp) / 1000) * this.rate)
    this.stamp = now
    this.tokens -= 1
    if (this.tokens < 0) await sleep((-this.tokens / this.rate) * 1000)
  }

  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + ms)
  }
}

/**
 * Bounded concurrency whose limit can shrink when the registry pushes back (429/503) and grows back
 * slowly on success (additive increase, multiplicative decrease).
 */
export class AdaptiveSemaphore {
  private active = 0
  private limit: number
  private readonly waiters: Array<() => void> = []
  private wins = 0

  constructor(private readonly max: number) {
    this.limit = max
  }

  get current(): number {
    return this.limit
  }

  async acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++
      return
    }

    await new Promise<void>((resolve) => {
      this.waiters.push(resolve)
    })
  }

  backOff(): void {
    this.limit = Math.max(1, Math.floor(this.limit / 2))
    this.wins = 0
  }

  release(success = true): void {
    this.active--
    if (success && this.limit < this.max && ++this.wins >= 20) {
      this.limit++
      this.wins = 0
    }

    while (this.active < this.limit && this.waiters.length > 0) {
      this.active++
      this.waiters.shift()!()
    }
  }
}

export interface BackoffOptions {
  exponentialBase: number
  initialDelay: number
  jitter: boolean
  maxDelay: number
}

/** Delay before retry number `attempt` (0-based), seconds → ms; ±10 % jitter, never below 100 ms. */
export function backoffMs(attempt: number, o: BackoffOptions, random = Math.random): number {
  const base = Math.min(o.initialDelay * o.exponentialBase ** attempt, o.maxDelay)
  const jittered = o.jitter ? base * (0.9 + 0.2 * random()) : base
  return Math.max(0.1, jittered) * 1000
}

/** Retry-After as seconds or an HTTP date → ms; undefined when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(header) ? header[0] : header
  if (!v) return undefined
  if (/^\s*\d+(\.\d+)?\s*$/.test(v)) return Number(v) * 1000
  const t = Date.parse(v)
  return Number.isNaN(t) ? undefined : Math.max(0, t - now)
}
