import type {KeptRecord, MongoCleanupResult} from '../../mongo/types.js'
import type {Phase, RunState} from '../run-state.js'
import type {Candidate, ItemOutcome, MongoRecord} from '../types.js'

import {normalizeRepository} from '../digest-plan.js'
import {cancelledBySignal} from './relock.js'

const tagKey = (repository: string, tag: string) => `${normalizeRepository(repository)}:${tag}`
const recordKey = (r: MongoRecord) => `${r.collection}/${r.id}`

/**
 * Which documents a run may touch: one goes only when the image of every candidate naming it was deleted and
 * verified gone (status `deleted`, or recorded deleted by the interrupted run this one resumed). `deleted-unverified`
 * does not count: the registry accepted the delete but nothing confirmed it, so the document stays as it is.
 */
export function gatedByDeletion<T>(
  candidates: readonly Candidate[],
  outcomes: readonly ItemOutcome[],
  itemsOf: (c: Candidate) => readonly T[] | undefined,
  keyOf: (item: T) => string,
): {eligible: T[]; kept: Array<{item: T; reason: string}>} {
  const statusOf = new Map<string, string>()
  for (const o of outcomes)
    for (const t of o.tags) statusOf.set(tagKey(o.repository, t), o.reason ? `${o.status}: ${o.reason}` : o.status)
  const byKey = new Map<string, {item: T; tags: Set<string>}>()
  for (const c of candidates)
    for (const item of itemsOf(c) ?? []) {
      const entry = byKey.get(keyOf(item)) ?? {item, tags: new Set<string>()}
      entry.tags.add(tagKey(c.repository, c.tag))
      byKey.set(keyOf(item), entry)
    }

  const eligible: T[] = []
  const kept: Array<{item: T; reason: string}> = []
  for (const {item, tags} of byKey.values()) {
    const notGone = [...tags].find((t) => statusOf.get(t) !== 'deleted')
    if (notGone === undefined) eligible.push(item)
    else kept.push({item, reason: `image ${notGone} was not deleted (${statusOf.get(notGone) ?? 'not planned'})`})
  }

  return {eligible, kept}
}

/** The records --mongo-cleanup may remove (gatedByDeletion over the candidates' `mongo` records). */
export function eligibleRecords(
  candidates: readonly Candidate[],
  outcomes: readonly ItemOutcome[],
): {eligible: MongoRecord[]; kept: KeptRecord[]} {
  const {eligible, kept} = gatedByDeletion(candidates, outcomes, (c) => c.mongo, recordKey)
  return {eligible, kept: kept.map(({item, reason}) => ({...item, reason}))}
}

/** This run's outcomes plus, with --resume, the images the interrupted run deleted (their records never cleaned). */
export function deletedSoFar(st: RunState): ItemOutcome[] {
  const earlier = (st.resume?.already_deleted ?? [])
    .filter((d) => d.status === 'deleted')
    .map((d) => {
      const at = d.key.lastIndexOf('@')
      return {digest: d.key.slice(at + 1), repository: d.key.slice(0, at), status: 'deleted' as const, tags: d.tags}
    })
  return [...st.outcomes, ...earlier]
}

/**
 * MongoDB clean-up (--apply --mongo-cleanup), after the deletes and the re-lock: removes the records of deleted
 * images past the guards of src/mongo/guards.ts, each saved whole (Extended JSON) to the undo journal before its
 * delete and listed in the audit report, which `drc mongo restore` reads. Fires drc:mongo-cleanup.
 */
export const mongoCleanupPhase: Phase = {
  cancellation: 'cooperative',
  enabled: (st) => st.opts.apply && Boolean(st.opts.mongoCleanup),
  name: 'mongo-cleanup',
  async run(st: RunState, task) {
    const [{cleanupRecords}, {undoJournalPath}] = await Promise.all([
      import('../../mongo/cleanup.js'),
      import('../../reports/store.js'),
    ])
    const {eligible, kept} = eligibleRecords(st.candidates, deletedSoFar(st))
    const result: MongoCleanupResult = {database: st.db!.databaseName, journal: null, kept, removed: []}
    st.mongoCleanup = result
    const journalPath = undoJournalPath(st.opts.config.analysis.output_dir, st.opts.strategy, st.started)
    await cleanupRecords({
      db: st.db!,
      eligible,
      journalPath,
      result,
      signal: st.cancel.signal,
      strategy: st.opts.strategy,
    })
    task.title = `MongoDB clean-up: ${result.removed.length} removed (saved for drc mongo restore), ${result.kept.length} kept`
    await st.hook('drc:mongo-cleanup', {
      kept: result.kept.map((k) => ({collection: k.collection, id: k.id, reason: k.reason})),
      removed: result.removed.map((r) => ({collection: r.collection, id: r.id})),
      strategy: st.opts.strategy,
    })
    if (st.cancel.signal.aborted) throw cancelledBySignal(130)
  },
  title: 'Cleaning MongoDB',
}
