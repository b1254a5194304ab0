import type {MongoUpdateResult, PlannedUpdate} from '../../mongo/updates.js'
import type {Phase, RunState} from '../run-state.js'

import {runUpdates} from '../mongo-change-updates.js'
import {deletedSoFar, gatedByDeletion} from './mongo-cleanup.js'
import {cancelledBySignal} from './relock.js'

const key = (u: PlannedUpdate) => `${u.collection}/${u.id}`

/**
 * The documents a strategy asked to change once their images are gone (Candidate.mongoUpdates, e.g. `drc unused
 * delete --archive` archives each emptied environment). After the re-lock and the clean-up: a document the
 * clean-up removed is no longer there and is kept with that reason. Each is saved whole to the undo journal
 * before its change, only while it still holds what the plan saw; `drc mongo restore <audit report>` undoes it.
 * Fires drc:mongo-update.
 */
export const mongoUpdatePhase: Phase = {
  cancellation: 'cooperative',
  enabled: (st) => st.opts.apply && st.candidates.some((c) => (c.mongoUpdates?.length ?? 0) > 0),
  name: 'mongo-update',
  async run(st: RunState, task) {
    const {eligible, kept} = gatedByDeletion(st.candidates, deletedSoFar(st), (c) => c.mongoUpdates, key)
    const result: MongoUpdateResult = {
      database: st.db!.databaseName,
      journal: null,
      kept: kept.map(({item, reason}) => ({collection: item.collection, id: item.id, reason})),
      updated: [],
    }
    st.mongoUpdates = result
    await runUpdates({
      db: st.db!,
      outputDir: st.opts.config.analysis.output_dir,
      result,
      signal: st.cancel.signal,
      startedAt: st.started.toISOString(),
      strategy: st.opts.strategy,
      updates: eligible,
    })
    task.title = `MongoDB changes: ${result.updated.length} made (saved for drc mongo restore), ${result.kept.length} kept`
    await st.hook('drc:mongo-update', {
      kept: result.kept,
      strategy: st.opts.strategy,
      updated: result.updated.map((u) => ({collection: u.collection, id: u.id})),
    })
    if (st.cancel.signal.aborted) throw cancelledBySignal(130)
  },
  title: 'Changing MongoDB documents',
}
