import type {Db, Document} from 'mongodb'

import type {MongoRecord, MongoRecordCollection} from '../lifecycle/types.js'
import type {MongoCleanupResult, SavedDocument, UndoJournal} from './types.js'

import {writeJsonAtomic} from '../lifecycle/atomic-json.js'
import {loadIdFilter} from '../usage/ids.js'
import {cleanupGuard} from './guards.js'

/** Children before parents: an environment's guard ("no revision remains") sees the revisions removed before it. */
const ORDER: readonly MongoRecordCollection[] = ['model_versions', 'environment_revisions', 'models', 'environments_v2']
/** Documents saved to the journal per write (one journal rewrite per batch, not per document). */
const BATCH = 50

export interface CleanupOptions {
  db: Db
  /** Records whose images are all gone (the caller decides eligibility; each is still guarded here). */
  eligible: readonly MongoRecord[]
  journalPath: string
  /** Filled in as the clean-up goes, so a failure half-way still reports what was removed. */
  result: MongoCleanupResult
  signal?: AbortSignal
  strategy: string
}

const recordKey = (r: MongoRecord) => `${r.collection}/${r.id}`

/**
 * Removes the eligible records that pass their guards (src/mongo/guards.ts), collection by collection in ORDER.
 * Each document is read whole, saved as canonical Extended JSON to the undo journal (written atomically) and only
 * then deleted by its exact `_id`: a crash at any point leaves every removed document in the journal.
 */
export async function cleanupRecords(opts: CleanupOptions): Promise<void> {
  const [{BSON}, idf] = await Promise.all([import('mongodb'), loadIdFilter()])
  const {result} = opts
  const journal: UndoJournal = {
    database: result.database,
    removed: result.removed,
    schema: 'drc-mongo-undo',
    started_at: new Date().toISOString(),
    strategy: opts.strategy,
  }
  try {
    await cleanCollections(opts, journal, {BSON, idf})
  } finally {
    // A document that vanished between the save and the delete, or a delete a failure stopped, was not removed.
    for (const s of result.removed.filter((d) => !d.removed))
      result.kept.push({
        collection: s.collection,
        id: s.id,
        reason: 'not removed (gone before the delete, or the run stopped)',
      })
    result.removed.splice(0, result.removed.length, ...result.removed.filter((d) => d.removed))
  }
}

async function cleanCollections(
  opts: CleanupOptions,
  journal: UndoJournal,
  {BSON, idf}: {BSON: typeof import('mongodb').BSON; idf: (field: string, ids: Iterable<string>) => Document},
): Promise<void> {
  const {db, result} = opts
  const seen = new Set<string>()
  for (const collection of ORDER) {
    const records = opts.eligible.filter((r) => r.collection === collection && !seen.has(recordKey(r)))
    for (const r of records) seen.add(recordKey(r))
    for (let i = 0; i < records.length; i += BATCH) {
      const pending: Array<{_id: unknown; saved: SavedDocument}> = []
      for (const record of records.slice(i, i + BATCH)) {
        if (opts.signal?.aborted) {
          result.kept.push({...record, reason: 'cancelled before it was cleaned'})
          continue
        }

        // eslint-disable-next-line no-await-in-loop -- guards read MongoDB as it is right now, one record at a time
        const why = await cleanupGuard(db, record, idf)
        // eslint-disable-next-line no-await-in-loop
        const doc = why ? null : await db.collection(collection).findOne(idf('_id', [record.id]))
        if (why || !doc) {
          result.kept.push({...record, reason: why ?? 'no longer in MongoDB'})
          continue
        }

        const document = BSON.EJSON.serialize(doc, {relaxed: false}) as Record<string, unknown>
        const saved: SavedDocument = {...record, document, removed: false, saved_at: new Date().toISOString()}
        result.removed.push(saved)
        pending.push({_id: doc._id, saved})
      }

      if (pending.length === 0) continue
      opts.result.journal = opts.journalPath
      // The undo record first, then the delete.
      // eslint-disable-next-line no-await-in-loop
      await writeJsonAtomic(opts.journalPath, journal)
      for (const p of pending) {
        // eslint-disable-next-line no-await-in-loop
        const {deletedCount} = await db.collection(collection).deleteOne({_id: p._id as never})
        p.saved.removed = deletedCount === 1
      }

      // eslint-disable-next-line no-await-in-loop
      await writeJsonAtomic(opts.journalPath, journal)
    }
  }
}
