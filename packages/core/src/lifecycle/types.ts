import type {Db} from 'mongodb'

import type {DrcConfig} from '../config/types.js'
import type {PlannedUpdate} from '../mongo/updates.js'

/** The MongoDB collections --mongo-cleanup may remove documents from (domain-spec §3.6–3.8). */
export type MongoRecordCollection = 'environment_revisions' | 'environments_v2' | 'model_versions' | 'models'

/**
 * A MongoDB document that stands for a candidate's image: a revision or model version (the image's own record)
 * and its environment or model. With --mongo-cleanup it is removed only when the image of every candidate naming
 * it was deleted, and only past the guards of src/mongo/cleanup.ts (invariant 6).
 */
export interface MongoRecord {
  collection: MongoRecordCollection
  /** The document's `_id` as 24 hex digits (any stored id shape is matched, see src/usage/ids.ts). */
  id: string
}

/** One image tag a strategy proposes to delete, with the evidence for why it may go. */
export interface Candidate {
  /**
   * The records --mongo-cleanup may remove once this image is gone, e.g. an environment image names its revision
   * and its environment (which goes only when none of its revisions remain). None: the run cleans nothing for it.
   */
  mongo?: MongoRecord[]
  /**
   * Changes to make (phases/mongo-update.ts) once the image of every candidate naming the same document was
   * deleted, e.g. `isArchived: true` on an emptied environment; each document saved whole first (drc mongo restore).
   */
  mongoUpdates?: PlannedUpdate[]
  /** Why the strategy proposes it, e.g. "environment 64f… archived". Kept in the plan and audit reports. */
  reason: string
  repository: string
  tag: string
}

/** What a strategy's plan() gets: the validated configuration, MongoDB, and the lifecycle flags. */
export interface PlanContext {
  config: DrcConfig
  db: Db
  /** Progress or notes for the operator (stderr; silent under --json). */
  log(message: string): void
}

/** One registry revision (repository@digest) the plan deletes; tags are every tag pointing at it. */
export interface PlanItem {
  digest: string
  /** Why: the evidence of every candidate tag on the digest (empty for index children). */
  evidence: string[]
  /**
   * What MongoDB says at planning time when a tag of this digest is in use (null: none is). An item in use at
   * planning is kept apart (DeletionPlan.inUse) and never deleted in that run, whatever the re-check says.
   */
  inUseAtPlan?: null | string
  /** `repository@digest` of planned indexes that list this revision: it only goes after they went. */
  parents: string[]
  repository: string
  tags: string[]
}

/** A candidate (or planned revision) left alone, and why. */
export interface SkippedItem {
  digest?: string
  reason: string
  repository: string
  tag?: string
}

export interface DeletionPlan {
  candidates: number
  /**
   * Revisions a candidate named that MongoDB says are in use at planning (inUseAtPlan says why): kept, not
   * backed up, not confirmed, not counted in predictedFreedBytes.
   */
  inUse: PlanItem[]
  /** Revisions expected to go, an index before its children. */
  items: PlanItem[]
  /** Bytes garbage collection would free after every delete of `items` (shared blobs counted once). */
  predictedFreedBytes: number
  skipped: SkippedItem[]
}

/** 'deleted-unverified': the registry accepted the DELETE (202) but no HEAD could confirm the manifest is gone. */
export type ItemStatus = 'deleted' | 'deleted-unverified' | 'failed' | 'skipped'

export interface ItemOutcome {
  digest: string
  reason?: string
  repository: string
  status: ItemStatus
  tags: string[]
  /** The usage verdicts: at planning, and at the live re-check right before the delete (when it ran). */
  verdicts?: {plan: string; recheck?: string}
}

export const itemKey = (i: {digest: string; repository: string}): string => `${i.repository}@${i.digest}`
