import {setMaxListeners} from 'node:events'

import {DrcError} from '../lib/errors.js'

/** Thrown when a scan made no progress for `analysis.timeout` seconds; names how far it got. */
export class AnalysisStalledError extends DrcError {
  constructor(
    readonly seconds: number,
    readonly progress: string,
  ) {
    super(
      `registry analysis made no progress for ${seconds} s (analysis.timeout) and was aborted; ${progress}. No report was written.`,
      {
        suggestions: [
          'check that the registry answers: drc health',
          'a registry that is slow but working needs a larger analysis.timeout (seconds without any tag scanned)',
        ],
      },
    )
    this.name = 'AnalysisStalledError'
  }
}

export interface StallWatch {
  /** Call on every unit of progress (a tag scanned, a tag list read): restarts the countdown. */
  touch(): void
}

/**
 * Runs `fn` under an inactivity deadline: when `touch()` has not been called for `ms`, the signal handed to `fn`
 * aborts with an AnalysisStalledError (so in-flight requests stop) and the returned promise rejects at once, even
 * if `fn` is stuck somewhere that ignores the signal. A deadline on inactivity rather than on the whole scan
 * never cuts off a large registry that is being scanned steadily, yet still ends a hung one.
 */
export async function withStallTimeout<T>(
  ms: number,
  describeProgress: () => string,
  fn: (signal: AbortSignal, watch: StallWatch) => Promise<T>,
): Promise<T> {
  const controller = new AbortController()
  // Every in-flight request listens on this one signal (as many as the scan's concurrency), which is not a leak.
  setMaxListeners(0, controller.signal)
  let timer: NodeJS.Timeout | undefined
  let rejectStall: ((e: unknown) => void) | undefined
  const stalled = new Promise<never>((_, reject) => {
    rejectStall = reject
  })
  const arm = (): void => {
    clearTimeout(timer)
    timer = setTimeout(() => {
      const error = new AnalysisStalledError(Math.round(ms / 1000), describeProgress())
      controller.abort(error)
      rejectStall?.(error)
    }, ms)
  }

  arm()
  const work = fn(controller.signal, {touch: arm})
  // Whichever loses the race must not become an unhandled rejection.
  work.catch(() => {})
  stalled.catch(() => {})
  try {
    return await Promise.race([work, stalled])
  } finally {
    clearTimeout(timer)
  }
}
