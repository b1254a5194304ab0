import type {Phase, RunState} from '../run-state.js'

import {tagsAtPlanTime} from '../budget.js'
import {type JournalOutcome, openJournalAppender, removeJournal, saveJournal} from '../journal.js'
import {usageRules} from '../run-state.js'
import {itemKey} from '../types.js'
import {cancelledBySignal, withRegistryUnlocked} from './relock.js'

/**
 * The journal of this run (invariant 9): written whole (compacted) once before the first item, then one line
 * appended before each DELETE ('deleting') and after each outcome. `record` resolves once its line is written, so
 * the cost per item stays the same however large the plan (the file was rewritten whole after every item before).
 */
function journalWriter(st: RunState) {
  const j = st.journal
  let appender: Awaited<ReturnType<typeof openJournalAppender>> | undefined
  return {
    async close() {
      await appender?.close()
      appender = undefined
    },
    flush: async () => appender?.flush(),
    async record(key: string, outcome: JournalOutcome) {
      if (!j) return
      j.journal.outcomes[key] = outcome.reason ? outcome : {status: outcome.status}
      await appender?.record(key, outcome)
    },
    async remove() {
      await this.close()
      if (j) await removeJournal(j.file)
    },
    async start() {
      if (!j) return
      await saveJournal(j.file, j.journal)
      appender = await openJournalAppender(j.file)
    },
  }
}

/** `12/1000 done, ETA 3m20s` from the items done so far and the time they took. */
export function progressLine(done: number, total: number, startedMs: number, nowMs = Date.now()): string {
  const eta = done > 0 && done < total ? ((nowMs - startedMs) / done) * (total - done) : 0
  const s = Math.round(eta / 1000)
  const etaText = s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`
  return `${done}/${total} done${done > 0 && done < total ? `, ETA ${etaText}` : ''}`
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
    const [{deleteItems}, {areInUse, isInUse}, {markDeletion}] = await Promise.all([
      import('../execute.js'),
      import('../../usage/live.js'),
      import('../../reports/invalidation.js'),
    ])
    // --resume: what the interrupted run deleted is never sent a DELETE again.
    const done = new Set(st.resume?.already_deleted.map((d) => d.key))
    const items = st.plan.items.filter((i) => !done.has(itemKey(i)))
    const journal = journalWriter(st)
    const deletable = items.some((i) => !st.backups.failed.has(itemKey(i)))
    let finished = false
    try {
      await journal.start()
      await withRegistryUnlocked(st, deletable, async (signal) => {
        const all = AbortSignal.any([signal, st.cancel.signal])
        const started = Date.now()
        let done = 0
        await deleteItems(items, {
          areInUse,
          beforeDelete: (item) => journal.record(itemKey(item), {status: 'deleting'}),
          concurrency: config.security.delete_concurrency,
          db: st.db!,
          isInUse,
          notAllowed: st.backups.failed,
          onItem(o) {
            st.outcomes.push(o)
            // Not awaited here (onItem is synchronous): the next DELETE waits for it (beforeDelete), the end flushes.
            journal.record(itemKey(o), {reason: o.reason, status: o.status}).catch(() => {})
            done++
            task.output = `${progressLine(done, items.length, started)}; ${o.status} ${o.repository}@${o.digest}${o.reason ? `: ${o.reason}` : ''}`
          },
          onWarning: (w) => st.warnings.push(w),
          plannedTags: tagsAtPlanTime(st.graph),
          registry,
          rules: usageRules(st),
          rulesNow: () => usageRules(st),
          signal: all,
        })
        finished = !all.aborted
      })
      // Deletes run concurrently: the audit lists outcomes in plan order all the same.
      const order = new Map(st.plan.items.map((i, n) => [itemKey(i), n]))
      st.outcomes.sort((a, b) => (order.get(itemKey(a)) ?? 0) - (order.get(itemKey(b)) ?? 0))
      await journal.flush()
      // Every item has its outcome: the journal has served (invariant 9: a finished run removes it).
      if (finished && !st.cancel.signal.aborted) await journal.remove()
    } finally {
      // Reports and the analysis cache must not present pre-deletion figures (drc reports rescans).
      if (st.outcomes.some((o) => o.status === 'deleted' || o.status === 'deleted-unverified'))
        await markDeletion(config, new Date()).catch((error: unknown) =>
          st.warnings.push(`could not mark the analysis cache stale: ${String(error)}`),
        )
      await journal.close()
    }

    if (st.cancel.signal.aborted) throw cancelledBySignal(130)
    const count = (s: string) => st.outcomes.filter((o) => o.status === s).length
    task.title = `Delete: ${count('deleted')} deleted, ${count('deleted-unverified')} unverified, ${count('skipped')} skipped, ${count('failed')} failed`
    await st.hook('drc:postdelete', {outcomes: st.outcomes, strategy: st.opts.strategy})
  },
  title: 'Deleting',
}
