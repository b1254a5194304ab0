import type {Db} from 'mongodb'

import type {DrcConfig} from '../config/types.js'

/** One image tag a strategy proposes to delete, with the evidence for why it may go. */
export interface Candidate {
  /** Where Mongo cleanup would act once the image is gone (invariant 6); not used by this version yet. */
  mongo?: {collection: string; id: string}
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
   * What MongoDB says at planning time when a tag of this digest is in use (null: none is). Informational for the
   * dry run; at --apply the live re-check right before the delete decides.
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
  /** Revisions to delete, an index before its children. */
  items: PlanItem[]
  /** Bytes garbage collection would free after every planned delete (shared blobs counted once). */
  predictedFreedBytes: number
  skipped: SkippedItem[]
}

export type ItemStatus = 'deleted' | 'failed' | 'skipped'

export interface ItemOutcome {
  digest: string
  reason?: string
  repository: string
  status: ItemStatus
  tags: string[]
}

export const itemKey = (i: {digest: string; repository: string}): string => `${i.repository}@${i.digest}`
