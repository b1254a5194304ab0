import type {RegistryGcResult} from '../../kube/registry-gc.js'
import type {Phase, RunState} from '../run-state.js'

import {errorMessage} from '../../lib/errors.js'

/** The audit report's `gc` part: whether garbage collection ran in this run and what it freed. */
export interface GcReport {
  /** Null when no GC ran (nothing decided). */
  delete_untagged: boolean | null
  /** Blob bytes the GC Job measured as gone (before minus after); null when it did not run or could not measure. */
  measured_freed_bytes: null | number
  /** What GC was predicted to free after the deletes that happened (the plan's blob graph). */
  predicted_freed_bytes: number
  ran: boolean
  /** Why it ran as it did (the --delete-untagged decision) or why it did not run. */
  reason: string
}

/** What this run's registry GC did; null until the GC phase decided. */
export interface GcState extends GcReport {
  result: null | RegistryGcResult
}

const gone = (st: RunState) => st.outcomes.filter((o) => o.status === 'deleted' || o.status === 'deleted-unverified')

/** Bytes GC would free after the deletes done (predicted from the plan's blob graph). */
export function predictedDeletedBytes(st: RunState): number {
  const done = gone(st)
  return st.graph && done.length > 0
    ? st.graph.freedBytes(done.map((d) => ({digest: d.digest, repository: d.repository}))).bytes
    : 0
}

export const GC_HINT =
  'the space of deleted images comes back only after registry garbage collection: run `drc registry gc` (in-cluster registry; read-only meanwhile) or `--run-registry-gc` with the deletion'

/**
 * The report's `gc` (null for a dry run) and, for an --apply run that deleted something without a GC, the warning
 * that nothing is freed yet (added once to the run's warnings).
 */
export function gcReport(st: RunState): GcReport | null {
  if (!st.opts.apply) return null
  const g = st.gc
  if (g) {
    return {
      delete_untagged: g.delete_untagged,
      measured_freed_bytes: g.measured_freed_bytes,
      predicted_freed_bytes: g.predicted_freed_bytes,
      ran: g.ran,
      reason: g.reason,
    }
  }

  const predicted = predictedDeletedBytes(st)
  const reason = st.opts.runRegistryGc ? 'not reached (the run stopped before)' : '--run-registry-gc not given'
  return {delete_untagged: null, measured_freed_bytes: null, predicted_freed_bytes: predicted, ran: false, reason}
}

/** Adds the "space comes back only after GC" warning to an --apply run that deleted something without a GC. */
export function warnWithoutGc(st: RunState): void {
  if (!st.opts.apply || st.gc?.ran || gone(st).length === 0) return
  const warning = `nothing is freed yet: ${GC_HINT}`
  if (!st.warnings.includes(warning)) st.warnings.push(warning)
}

function notRun(st: RunState, reason: string): void {
  st.gc = {
    delete_untagged: null,
    measured_freed_bytes: null,
    predicted_freed_bytes: predictedDeletedBytes(st),
    ran: false,
    reason,
    result: null,
  }
}

/**
 * Registry garbage collection (--apply --run-registry-gc), after the re-lock and the MongoDB clean-up: only when
 * something was deleted and the registry is in the cluster. A fresh registry-wide scan decides --delete-untagged
 * (analysis/gc-safety.ts); runRegistryGc keeps the registry read-only for the duration and restores it on every
 * path. Fires drc:gc.
 */
export const gcPhase: Phase = {
  cancellation: 'cooperative',
  enabled: (st) => st.opts.apply && Boolean(st.opts.runRegistryGc),
  name: 'gc',
  async run(st: RunState, task) {
    if (gone(st).length === 0) return notRun(st, 'nothing was deleted')
    if (!st.inCluster)
      return notRun(st, 'the registry is not in the cluster: run `registry garbage-collect` on its host')
    const [{scanForGcSafety}, {runRegistryGc}] = await Promise.all([
      import('../../analysis/gc-safety.js'),
      import('../../kube/registry-gc.js'),
    ])
    const {config} = st.opts
    const {signal} = st.cancel
    let reason = 'not decided'
    try {
      const safety = await scanForGcSafety(config, signal)
      reason = safety.reason
      st.opts.log(`garbage collection: ${reason}`)
      const result = await runRegistryGc(config, {deleteUntagged: safety.deleteUntagged, log: st.opts.log, signal})
      const predicted = predictedDeletedBytes(st)
      st.gc = {
        delete_untagged: result.delete_untagged,
        measured_freed_bytes: result.measured_freed_bytes,
        predicted_freed_bytes: predicted,
        ran: true,
        reason,
        result,
      }
      task.title = `Registry garbage collection: ${result.measured_freed_bytes ?? 'unmeasured'} bytes freed`
      await st.hook('drc:gc', {predicted_freed_bytes: predicted, result, strategy: st.opts.strategy})
    } catch (error) {
      notRun(st, `garbage collection failed: ${errorMessage(error)} (${reason})`)
      throw error
    }
  },
  title: 'Registry garbage collection',
}
