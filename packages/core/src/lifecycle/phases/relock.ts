import type {Phase, RunState} from '../run-state.js'

import {DrcError, errorMessage} from '../../lib/errors.js'
import {ExitCode} from '../../lib/exit-codes.js'

export function cancelledBySignal(code: number, cause?: unknown): DrcError {
  const error = new DrcError(
    `cancelled by a signal; the registry was ${code === ExitCode.FAILURE ? 'NOT re-locked (see above)' : 're-locked'}${cause ? ` (${errorMessage(cause)})` : ''}`,
    {cause, exitCode: code === ExitCode.FAILURE ? ExitCode.FAILURE : ExitCode.CANCELLED},
  )
  error.name = 'CancelledBySignal'
  return error
}

/**
 * Runs `fn` with registry deletion unlocked when the registry is in the cluster (withDeletionUnlocked re-locks
 * on every path and owns SIGINT/SIGTERM meanwhile), directly otherwise. Records the lock state for the audit.
 */
export async function withRegistryUnlocked(
  st: RunState,
  needed: boolean,
  fn: (signal: AbortSignal) => Promise<unknown>,
): Promise<void> {
  if (!st.inCluster || !needed) {
    await fn(st.cancel.signal)
    return
  }

  const {RelockError, withDeletionUnlocked} = await import('../../kube/registry-lock.js')
  let signalled: number | undefined
  st.lock = 'never unlocked'
  st.lockOwnsSignals = true
  try {
    await withDeletionUnlocked(
      st.opts.config,
      async ({signal}) => {
        st.lock = 'relocked'
        return fn(signal)
      },
      {
        // On SIGINT/SIGTERM the registry is re-locked first; instead of exiting there, the run goes on to skip
        // what is left and write the audit report, then ends with the signal's exit code.
        exit(code) {
          signalled = code
        },
        log: st.opts.log,
      },
    )
    if (signalled !== undefined) throw cancelledBySignal(signalled)
  } catch (error) {
    // Exit code 1 from the signal path means its re-lock failed (it reported that on stderr).
    if (error instanceof RelockError || signalled === ExitCode.FAILURE) st.lock = 'RE-LOCK FAILED'
    if (signalled !== undefined && !(error instanceof DrcError && error.name === 'CancelledBySignal'))
      throw cancelledBySignal(signalled, error)
    throw error
  } finally {
    st.lockOwnsSignals = false
  }
}

/**
 * Re-lock: the re-lock itself happens inside withRegistryUnlocked, on every path, as soon as the deletes end;
 * this phase reports its outcome through drc:relock (only when the delete phase ran).
 */
export const relockPhase: Phase = {
  cancellation: 'race',
  enabled: (st) => st.opts.apply,
  name: 'relock',
  async run(st: RunState, task) {
    task.title = `Registry lock: ${st.lock}`
    await st.hook('drc:relock', {lock: st.lock, strategy: st.opts.strategy})
  },
  title: 'Re-lock',
}
