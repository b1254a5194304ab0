import type {Db, Document} from 'mongodb'

import {isDeepStrictEqual} from 'node:util'

import {writeJsonAtomic} from '../lifecycle/atomic-json.js'
import {loadIdFilter} from '../usage/ids.js'

/** The collections a MongoDB-only command may change (archive: environments; reset-defaults: the defaults). */
export const UPDATE_COLLECTIONS = ['environments_v2', 'organizations', 'projects', 'userPreferences'] as const
export type UpdateCollection = (typeof UPDATE_COLLECTIONS)[number]

/**
 * A change a MongoDB-only command proposes for one document. Field names are top-level; values are canonical
 * Extended JSON (so the plan report keeps their BSON types, e.g. an ObjectId stays `{$oid}`).
 */
export interface PlannedUpdate {
  collection: UpdateCollection
  /** Fields and the values they must still hold when the change is made (what the plan saw): else it is kept. */
  expect: Record<string, unknown>
  id: string
  reason: string
  set: Record<string, unknown>
  unset: string[]
}

/** A changed document: its whole previous version (canonical Extended JSON) and what this run set. */
export interface SavedUpdate extends PlannedUpdate {
  before: Record<string, unknown>
  saved_at: string
  /** False while the update is pending, or when it changed nothing. */
  updated: boolean
}

export interface KeptUpdate {
  collection: string
  id: string
  reason: string
}

/** The update part of an audit report: `--undo <audit report>` reads `updated`. */
export interface MongoUpdateResult {
  database: string
  /** Written before every batch of updates, so that a crash still leaves every previous document on disk. */
  journal: null | string
  kept: KeptUpdate[]
  updated: SavedUpdate[]
}

export interface UpdateJournal {
  database: string
  schema: 'drc-mongo-update-undo'
  started_at: string
  strategy: string
  updated: SavedUpdate[]
}

export interface UndoUpdatesResult {
  database: string
  dry_run: boolean
  /** Left as they are, with the reason (e.g. changed since the run): nothing was written for them. */
  refused: KeptUpdate[]
  /** Replaced by their saved version (with dry_run: would be). */
  reverted: Array<{collection: string; id: string}>
}

/**
 * Archives one environment (`isArchived: true`), only while it is still not archived: one archived (or restored)
 * since the plan is left alone. `drc unused archive` and every whole-environment strategy's --archive use it.
 */
export function archiveEnvironmentUpdate(environmentId: string, reason: string): PlannedUpdate {
  return {
    collection: 'environments_v2',
    expect: {isArchived: false},
    id: environmentId,
    reason,
    set: {isArchived: true},
    unset: [],
  }
}

const BATCH = 50

type EJSON = typeof import('mongodb').BSON.EJSON

/** The document `before` with the update applied, as MongoDB applies $set/$unset to top-level fields. */
function afterOf(before: Record<string, unknown>, u: Pick<PlannedUpdate, 'set' | 'unset'>): Record<string, unknown> {
  const after: Record<string, unknown> = {...before, ...u.set}
  for (const f of u.unset) delete after[f]
  return after
}

/** The filter that matches the document only while the given fields hold these values (absent: undefined). */
function holdsFilter(ejson: EJSON, fields: Record<string, unknown>, absent: readonly string[] = []): Document {
  const filter: Document = ejson.deserialize(fields, {relaxed: false})
  for (const f of absent) filter[f] = {$exists: false}
  return filter
}

/** The fields whose values differ between two canonical Extended JSON documents. */
function changedFields(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !isDeepStrictEqual(a[k], b[k]))
}

export interface ApplyUpdatesOptions {
  db: Db
  journalPath: string
  /** Filled in as the run goes, so a failure half-way still reports what was changed. */
  result: MongoUpdateResult
  signal?: AbortSignal
  strategy: string
  updates: readonly PlannedUpdate[]
}

/**
 * Makes each planned change: the document is read whole, saved as canonical Extended JSON to the undo journal
 * (written atomically) and only then updated, by its exact `_id` and only while it still holds the values the plan
 * saw (`expect`). A document changed since the plan is kept, with the reason.
 */
export async function applyUpdates(opts: ApplyUpdatesOptions): Promise<void> {
  const [{BSON}, idf] = await Promise.all([import('mongodb'), loadIdFilter()])
  const {result} = opts
  const journal: UpdateJournal = {
    database: result.database,
    schema: 'drc-mongo-update-undo',
    started_at: new Date().toISOString(),
    strategy: opts.strategy,
    updated: result.updated,
  }
  try {
    for (let i = 0; i < opts.updates.length; i += BATCH) {
      // eslint-disable-next-line no-await-in-loop -- batches in order: the journal is written before each
      await applyBatch(opts, journal, opts.updates.slice(i, i + BATCH), {ejson: BSON.EJSON, idf})
    }
  } finally {
    for (const s of result.updated.filter((d) => !d.updated))
      result.kept.push({
        collection: s.collection,
        id: s.id,
        reason: 'not changed (changed before the update, or the run stopped)',
      })
    result.updated.splice(0, result.updated.length, ...result.updated.filter((d) => d.updated))
  }
}

async function applyBatch(
  opts: ApplyUpdatesOptions,
  journal: UpdateJournal,
  batch: readonly PlannedUpdate[],
  {ejson, idf}: {ejson: EJSON; idf: (field: string, ids: Iterable<string>) => Document},
): Promise<void> {
  const {db, result} = opts
  const pending: Array<{_id: unknown; saved: SavedUpdate}> = []
  for (const u of batch) {
    const at = {collection: u.collection, id: u.id}
    if (opts.signal?.aborted) {
      result.kept.push({...at, reason: 'cancelled before it was changed'})
      continue
    }

    // eslint-disable-next-line no-await-in-loop -- one document at a time, as it is right now
    const doc = await db.collection(u.collection).findOne(idf('_id', [u.id]))
    if (!doc) {
      result.kept.push({...at, reason: 'no longer in MongoDB'})
      continue
    }

    const before = ejson.serialize(doc, {relaxed: false}) as Record<string, unknown>
    const drift = Object.keys(u.expect).filter((f) => !isDeepStrictEqual(before[f], u.expect[f]))
    if (drift.length > 0) {
      result.kept.push({...at, reason: `changed since the plan (${drift.join(', ')}): left as it is`})
      continue
    }

    const saved: SavedUpdate = {...u, before, saved_at: new Date().toISOString(), updated: false}
    result.updated.push(saved)
    pending.push({_id: doc._id as unknown, saved})
  }

  if (pending.length === 0) return
  result.journal = opts.journalPath
  // The previous documents first, then the updates.
  await writeJsonAtomic(opts.journalPath, journal)
  for (const {_id, saved} of pending) {
    const update: Document = {}
    if (Object.keys(saved.set).length > 0) update.$set = ejson.deserialize(saved.set, {relaxed: false})
    if (saved.unset.length > 0) update.$unset = Object.fromEntries(saved.unset.map((f) => [f, '']))
    // eslint-disable-next-line no-await-in-loop
    const {modifiedCount} = await db
      .collection(saved.collection)
      .updateOne({...holdsFilter(ejson, saved.expect), _id: _id as never}, update)
    saved.updated = modifiedCount === 1
  }

  await writeJsonAtomic(opts.journalPath, journal)
}

/**
 * Undoes the saved changes: a document that is exactly what this run made of it (its saved version with the change
 * applied) is replaced by the saved version; any other (changed since, or gone) is refused with the reason, never
 * overwritten, so a later edit is not lost. With dryRun nothing is written.
 */
export async function undoUpdates(
  db: Db,
  saved: readonly SavedUpdate[],
  opts: {dryRun: boolean},
): Promise<UndoUpdatesResult> {
  const {BSON} = await import('mongodb')
  const ejson = BSON.EJSON
  const result: UndoUpdatesResult = {database: db.databaseName, dry_run: opts.dryRun, refused: [], reverted: []}
  for (const s of saved) {
    const at = {collection: String(s.collection), id: String(s.id)}
    if (!(UPDATE_COLLECTIONS as readonly string[]).includes(s.collection)) {
      result.refused.push({...at, reason: `collection ${at.collection} is not one drc changes`})
      continue
    }

    const previous = ejson.deserialize(s.before, {relaxed: false}) as Document
    // eslint-disable-next-line no-await-in-loop -- one document at a time, as it is right now
    const current = await db.collection(s.collection).findOne({_id: previous._id})
    if (!current) {
      result.refused.push({...at, reason: 'no longer in MongoDB'})
      continue
    }

    const now = ejson.serialize(current, {relaxed: false}) as Record<string, unknown>
    const changed = changedFields(now, afterOf(s.before, s))
    if (changed.length > 0) {
      const own = changed.filter((f) => f in s.set || s.unset.includes(f))
      result.refused.push({
        ...at,
        reason:
          own.length > 0
            ? `changed since this run: ${own.join(', ')} no longer hold(s) what this run set`
            : `changed since this run (${changed.join(', ')}): restoring the saved version would lose that change`,
      })
      continue
    }

    if (!opts.dryRun) {
      // Only while it still is what this run made of it (a change between the read and the write is not lost).
      // eslint-disable-next-line no-await-in-loop
      const {matchedCount} = await db
        .collection(s.collection)
        .replaceOne({...holdsFilter(ejson, s.set, s.unset), _id: previous._id}, previous)
      if (matchedCount !== 1) {
        result.refused.push({...at, reason: 'changed while being restored: left as it is'})
        continue
      }
    }

    result.reverted.push(at)
  }

  return result
}

/** The changed documents an audit report (`data.mongo_updates`) or an update journal lists, and their database. */
export function updateSourceOf(
  text: string,
): null | {database: string; strategy: null | string; updated: SavedUpdate[]} {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return null
  }

  const root = parsed as {data?: {mongo_updates?: unknown; strategy?: unknown}; schema?: string; strategy?: unknown}
  const journal = root?.schema === 'drc-mongo-update-undo'
  const section = (journal ? root : root?.data?.mongo_updates) as undefined | {database?: unknown; updated?: unknown}
  if (!section || typeof section.database !== 'string' || !Array.isArray(section.updated)) return null
  const strategy = journal ? root.strategy : root.data?.strategy
  return {
    database: section.database,
    strategy: typeof strategy === 'string' ? strategy : null,
    updated: section.updated as SavedUpdate[],
  }
}
