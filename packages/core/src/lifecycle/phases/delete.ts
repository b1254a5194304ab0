import type {BlobGraph} from '../../analysis/graph.js'
import type {Phase, RunState} from '../run-state.js'

import {usageRules} from '../run-state.js'
import {itemKey} from '../types.js'
import {cancelledBySignal, withRegistryUnlocked} from './relock.js'

/** Every repository's tags as the plan's scan saw them (see DeleteDeps.plannedTags). */
function tagsAtPlanTime(graph: BlobGraph | undefined): Map<string, Set<string>> | undefined {
  if (!graph) return undefined
  const out = new Map<string, Set<string>>()
  for (const rev of graph.listRevisions()) {
    const set = out.get(rev.repository) ?? new Set<string>()
    for (const tag of rev.tags) set.add(tag)
    out.set(rev.repository, set)
  }

  return out
}

/**
 * Delete (--apply): drc:predelete, then the registry unlocked (in the cluster) for exactly the per-item loop:
 * live re-check, digest guard, DELETE, verify (src/lifecycle/execute.ts). Outcomes are recorded as they happen,
 * so the audit lists them even if re-locking fails afterwards. Fires drc:postdelete.
 */
export const deletePhase: Phase = {
  cancellation: 'cooperative',
  enabled: (st) => st.opts.apply,
  name: 'delete',
  async run(st: RunState, task) {
    const {config} = st.opts
    await st.hook('drc:predelete', {plan: st.plan, strategy: st.opts.strategy})
    const {openRegistryClient} = await import('../../registry/open.js')
    st.registry ??= await openRegistryClient(config)
    const {registry} = st
    const [{deleteItems}, {isInUse}, {markDeletion}] = await Promise.all([
      import('../execute.js'),
      import('../../usage/live.js'),
      import('../../reports/invalidation.js'),
    ])
    const deletable = st.plan.items.some((i) => !st.backups.failed.has(itemKey(i)))
    try {
      await withRegistryUnlocked(st, deletable, (signal) =>
        deleteItems(st.plan.items, {
          db: st.db!,
          isInUse,
          notAllowed: st.backups.failed,
          onItem(o) {
            st.outcomes.push(o)
            task.output = `${o.status} ${o.repository}@${o.digest}${o.reason ? `: ${o.reason}` : ''}`
          },
          onWarning: (w) => st.warnings.push(w),
          plannedTags: tagsAtPlanTime(st.graph),
          registry,
          rules: usageRules(st),
          signal: AbortSignal.any([signal, st.cancel.signal]),
        }),
      )
    } finally {
      // Reports and the analysis cache must not present pre-deletion figures (drc reports rescans).
      if (st.outcomes.some((o) => o.status === 'deleted' || o.status === 'deleted-unverified'))
        await markDeletion(config, new Date()).catch((error: unknown) =>
          st.warnings.push(`could not mark the analysis cache stale: ${String(error)}`),
        )
    }

    if (st.cancel.signal.aborted) throw cancelledBySignal(130)
    const count = (s: string) => st.outcomes.filter((o) => o.status === s).length
    task.title = `Delete: ${count('deleted')} deleted, ${count('deleted-unverified')} unverified, ${count('skipped')} skipped, ${count('failed')} failed`
    await st.hook('drc:postdelete', {outcomes: st.outcomes, strategy: st.opts.strategy})
  },
  title: 'Deleting',
}
