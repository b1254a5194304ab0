import type {Db} from 'mongodb'

import type {MongoRecordCollection} from '../lifecycle/types.js'
import type {SavedDocument} from './types.js'

import {errorMessage, UsageError} from '../lib/errors.js'
import {CLEANUP_COLLECTIONS} from './types.js'

export interface RestoreOutcome {
  collection: string
  id: string
  reason?: string
}

export interface RestoreResult {
  database: string
  dry_run: boolean
  /** Refused, with the reason (e.g. a document with that _id exists again): nothing was written for them. */
  refused: RestoreOutcome[]
  /** Inserted (with --dry-run: would be inserted). */
  restored: RestoreOutcome[]
}

/** What an audit report (or the undo journal) says was removed: the documents and the database they came from. */
export interface UndoSource {
  database: string
  documents: SavedDocument[]
}

/**
 * Reads the removed documents from an audit report of a --mongo-cleanup run (`data.mongo_cleanup`) or from its
 * undo journal (`<output_dir>/mongo-undo/*.json`, kept even when the run crashed before its audit).
 */
export function undoSourceOf(file: string, text: string): UndoSource {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new UsageError(`${file} is not JSON: ${errorMessage(error)}`, [
      'pass the audit report of a --mongo-cleanup run',
    ])
  }

  const root = parsed as {data?: {mongo_cleanup?: unknown}; schema?: string}
  const section = (root?.schema === 'drc-mongo-undo' ? root : root?.data?.mongo_cleanup) as
    undefined | {database?: unknown; removed?: unknown}
  if (!section || typeof section.database !== 'string' || !Array.isArray(section.removed))
    throw new UsageError(`${file} lists no MongoDB documents removed by drc`, [
      'pass the audit report of a deletion run made with --mongo-cleanup (or its undo journal under mongo-undo/)',
    ])
  return {database: section.database, documents: section.removed as SavedDocument[]}
}

/** Parents first, so that a restored child never points at a parent that is still missing. */
const RANK: Record<MongoRecordCollection, number> = {
  environment_revisions: 1,
  environments_v2: 0,
  model_versions: 1,
  models: 0,
}

const DUPLICATE_KEY = 11_000

/**
 * Puts the saved documents back exactly as they were (Extended JSON read back in canonical mode: ObjectId, Date,
 * Long, Int32, Double... keep their types). A document whose `_id` exists again is refused, never overwritten;
 * so is one of a collection the clean-up never touches. With dryRun nothing is written.
 */
export async function restoreDocuments(
  db: Db,
  documents: readonly SavedDocument[],
  opts: {dryRun: boolean},
): Promise<RestoreResult> {
  const {BSON} = await import('mongodb')
  const result: RestoreResult = {database: db.databaseName, dry_run: opts.dryRun, refused: [], restored: []}
  const ordered = [...documents].sort((a, b) => (RANK[a.collection] ?? 2) - (RANK[b.collection] ?? 2))
  for (const saved of ordered) {
    const at = {collection: String(saved.collection), id: String(saved.id)}
    if (!CLEANUP_COLLECTIONS.includes(saved.collection)) {
      result.refused.push({...at, reason: `collection ${at.collection} is not one drc cleans up`})
      continue
    }

    let doc: Record<string, unknown>
    try {
      doc = BSON.EJSON.deserialize(saved.document, {relaxed: false}) as Record<string, unknown>
    } catch (error) {
      result.refused.push({...at, reason: `not Extended JSON: ${errorMessage(error)}`})
      continue
    }

    if (doc?._id === undefined) {
      result.refused.push({...at, reason: 'the saved document has no _id'})
      continue
    }

    const collection = db.collection(saved.collection)
    // eslint-disable-next-line no-await-in-loop -- one document at a time, each checked right before its insert
    if (await collection.findOne({_id: doc._id as never}, {projection: {_id: 1}})) {
      result.refused.push({...at, reason: `a document with this _id exists again in ${saved.collection}`})
      continue
    }

    if (!opts.dryRun)
      try {
        // eslint-disable-next-line no-await-in-loop
        await collection.insertOne(doc)
      } catch (error) {
        if ((error as {code?: unknown}).code !== DUPLICATE_KEY) throw error
        result.refused.push({...at, reason: `a document with this _id exists again in ${saved.collection}`})
        continue
      }

    result.restored.push(at)
  }

  return result
}
