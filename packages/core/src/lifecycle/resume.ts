import type {RunState} from './run-state.js'
import type {DeletionPlan} from './types.js'

import {UsageError} from '../lib/errors.js'
import {type Journal, journalPath, listJournals, newJournal, planId} from './journal.js'
import {itemKey} from './types.js'

/** What the resumed run takes over from the journal of the interrupted one. */
export interface ResumeInfo {
  /** Items the interrupted run deleted (or sent the DELETE for): never deleted again, counted in the audit. */
  already_deleted: Array<{key: string; status: string; tags: string[]}>
  journal: string
  plan_id: string
}

/**
 * Compares the journal's plan with the plan made now. Items the journal records as deleted (or whose DELETE was
 * sent and that the registry no longer has) are no longer in the registry, so they cannot be planned again:
 * they are not a difference. An index child whose indexes all went is not either (it is unreferenced now).
 */
export function compareWithJournal(journal: Journal, plan: DeletionPlan) {
  const now = new Set(plan.items.map((i) => itemKey(i)))
  const done = new Set<string>()
  for (const [key, o] of Object.entries(journal.outcomes))
    if (o.status === 'deleted' || o.status === 'deleted-unverified' || (o.status === 'deleting' && !now.has(key)))
      done.add(key)
  const inJournal = new Set(journal.items.map((i) => i.key))
  const added = [...now].filter((k) => !inJournal.has(k))
  const removed = journal.items
    .filter((i) => !now.has(i.key) && !done.has(i.key))
    .filter((i) => i.parents.length === 0 || !i.parents.every((p) => done.has(p)))
    .map((i) => i.key)
  return {added, done, removed}
}

const examples = (keys: string[]) => `${keys.slice(0, 3).join(', ')}${keys.length > 3 ? ', …' : ''}`

/** Picks the journal --resume continues: --operation-id, else the one matching this plan, else the only one. */
async function pickJournal(st: RunState): Promise<null | {file: string; journal: Journal}> {
  const {config, operationId, strategy} = st.opts
  const all = await listJournals(config, strategy, (w) => st.warnings.push(w))
  if (operationId) {
    const hit = all.find((j) => j.journal.plan_id === operationId)
    if (!hit)
      throw new UsageError(`no journal ${operationId} of ${strategy} under ${journalPath(config, operationId)}`, [
        `journals of ${strategy}: ${all.map((j) => j.journal.plan_id).join(', ') || 'none'}`,
      ])
    return hit
  }

  if (all.length <= 1) return all[0] ?? null
  const matching = all.filter((j) => {
    const d = compareWithJournal(j.journal, st.plan)
    return d.added.length === 0 && d.removed.length === 0
  })
  if (matching.length === 1) return matching[0]
  throw new UsageError(
    `${all.length} journals of ${strategy} could be resumed: pick one with --operation-id`,
    all.map(
      (j) => `--operation-id ${j.journal.plan_id} (started ${j.journal.started_at}, ${j.journal.items.length} items)`,
    ),
  )
}

/**
 * After planning: the journal this run writes (invariant 9). A fresh run starts the journal of its plan id; with
 * --resume it continues the interrupted run's journal, which must be of the same plan (else refused, exit 2, with
 * what differs); what that run deleted is never deleted again.
 */
export async function resolveJournal(st: RunState): Promise<void> {
  const {config, strategy} = st.opts
  if (!st.opts.resume) {
    const id = planId(st.plan.items)
    st.journal = {file: journalPath(config, id), journal: newJournal(id, st.plan.items, strategy)}
    const others = await listJournals(config, strategy, (w) => st.warnings.push(w))
    if (others.length > 0)
      st.warnings.push(
        `an interrupted run left its journal (${others.map((o) => o.journal.plan_id).join(', ')}): --resume continues it`,
      )
    return
  }

  const picked = await pickJournal(st)
  if (!picked) {
    st.warnings.push('--resume: no journal of an interrupted run was found; the plan runs from the start')
    st.opts.resume = false
    await resolveJournal(st)
    return
  }

  const {added, done, removed} = compareWithJournal(picked.journal, st.plan)
  if (added.length > 0 || removed.length > 0)
    throw new UsageError(
      `--resume refused: journal ${picked.journal.plan_id} is of another plan: ${added.length} items added (${examples(added) || 'none'}), ${removed.length} removed (${examples(removed) || 'none'})`,
      [
        'run without --resume to delete what the plan says now (nothing is deleted twice: deleted items are gone)',
        `or remove ${picked.file} if that run is not to be continued`,
      ],
    )
  const tagsOf = new Map(picked.journal.items.map((i) => [i.key, i.tags]))
  st.journal = picked
  st.resume = {
    already_deleted: [...done].map((key) => ({
      key,
      status: picked.journal.outcomes[key].status,
      tags: tagsOf.get(key) ?? [],
    })),
    journal: picked.file,
    plan_id: picked.journal.plan_id,
  }
}
