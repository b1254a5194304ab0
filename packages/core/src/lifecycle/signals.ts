import type {RunState} from './run-state.js'

import {cancelledBySignal} from './phases/relock.js'

/**
 * SIGINT/SIGTERM for a whole --apply run (invariant 7: every --apply run writes its audit report). A signal
 * aborts st.cancel: a read-only phase stops being waited for, the delete loop skips what is left, and the
 * pipeline writes the audit (status cancelled, the phase reached) and ends with 130. While the registry is
 * unlocked, withDeletionUnlocked owns the signals (it re-locks first, then reports back): this handler stays out.
 * Returns the function that removes the handlers.
 */
export function cancelOnSignals(st: RunState): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (st.lockOwnsSignals) return
    if (st.cancel.signal.aborted) {
      st.opts.log(`${signal} again: writing the audit report, please wait`)
      return
    }

    st.opts.log(`${signal}: cancelling during ${st.phase}; nothing more will change, writing the audit report`)
    const error = cancelledBySignal(130)
    error.message = `cancelled by ${signal} during ${st.phase}`
    st.cancel.abort(error)
  }

  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return () => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/** Resolves with fn's result, or rejects with the cancellation as soon as the run is cancelled. */
export async function raceCancel<T>(st: RunState, fn: () => Promise<T>): Promise<T> {
  const {signal} = st.cancel
  signal.throwIfAborted()
  let onAbort: (() => void) | undefined
  const cancelled = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, {once: true})
  })
  const work = fn()
  // The abandoned work may still fail later (its connections are closed under it): that is expected.
  work.catch(() => {})
  try {
    return await Promise.race([work, cancelled])
  } finally {
    signal.removeEventListener('abort', onAbort!)
  }
}
