import type {MongoRecord, MongoRecordCollection} from '../lifecycle/types.js'

/** A document --mongo-cleanup saved (whole) before removing it: what `drc mongo restore` puts back. */
export interface SavedDocument {
  collection: MongoRecordCollection
  /** The whole document as MongoDB Extended JSON, canonical mode: every BSON type survives the round trip. */
  document: Record<string, unknown>
  id: string
  /** False while the delete is pending or when it removed nothing (a crash between save and delete leaves false). */
  removed: boolean
  saved_at: string
}

/** A record the clean-up left in MongoDB, and why. */
export interface KeptRecord extends MongoRecord {
  reason: string
}

/** The --mongo-cleanup part of the audit report. */
export interface MongoCleanupResult {
  database: string
  /** The undo journal written before every delete (also readable by `drc mongo restore`). */
  journal: null | string
  kept: KeptRecord[]
  /** Removed documents, each saved whole: `drc mongo restore <audit report>` puts exactly these back. */
  removed: SavedDocument[]
}

/** The undo journal file: written (atomically) before each batch of deletes, so a crash cannot lose a document. */
export interface UndoJournal {
  database: string
  removed: SavedDocument[]
  schema: 'drc-mongo-undo'
  started_at: string
  strategy: string
}

export const CLEANUP_COLLECTIONS: readonly MongoRecordCollection[] = [
  'environment_revisions',
  'environments_v2',
  'model_versions',
  'models',
]
