import type {Candidate} from '@drc/core'

import type {EnvironmentImages, RevisionImage} from './environments.js'

/** Where a revision's place in its environment's history came from. */
export type RevisionOrder = 'creation order' | 'revision number'

/** An environment's built revisions with an image, newest first, and how they were ordered. */
export interface RevisionHistory {
  environment: EnvironmentImages
  order: RevisionOrder
  revisions: Array<RevisionImage & {rank: null | number}>
}

/** The `<n>` of a tag `<environmentId>-<n>` (Domino's revision image tag), or null for any other form. */
export function tagNumber(environmentId: string, tag: null | string): null | number {
  if (!tag?.toLowerCase().startsWith(`${environmentId}-`)) return null
  const rest = tag.slice(environmentId.length + 1)
  return /^\d+$/.test(rest) ? Number(rest) : null
}

/** Newest first by ObjectId (24 lowercase hex digits compare as their creation time, then the rest). */
const byId = (a: {revisionId: string}, b: {revisionId: string}) => b.revisionId.localeCompare(a.revisionId)

/**
 * Newest first by revision number: the tag's `-<n>` suffix, else the revision's number field. When some revision
 * has neither, numbers cannot be compared with it: the whole environment falls back to creation order (ObjectId
 * order, whose leading 4 bytes are the creation time). Failed builds and revisions naming no image are left out:
 * they have no image to keep, so they do not count among the newest N.
 */
export function revisionHistory(env: EnvironmentImages): RevisionHistory {
  const built = env.revisions
    .filter((r) => r.built && r.tag !== null)
    .map((r) => ({...r, rank: tagNumber(env.environmentId, r.tag) ?? r.number}))
  if (built.every((r) => r.rank !== null)) {
    built.sort((a, b) => b.rank! - a.rank! || byId(a, b))
    return {environment: env, order: 'revision number', revisions: built}
  }

  built.sort(byId)
  return {environment: env, order: 'creation order', revisions: built}
}

const label = (r: {rank: null | number; revisionId: string}, order: RevisionOrder) =>
  order === 'revision number' ? `number ${r.rank}` : `created ${r.revisionId.slice(0, 8)}`

/**
 * The candidates of `drc unused old-revisions`: every built revision of an environment beyond its newest `keep`,
 * each saying which ones are the newest. Only the count rule lives here: the core's plan then keeps whatever the
 * one usage predicate says is in use (the active revision, a pinned `SomeRevision(<id>)`, runs of any age,
 * workspaces, models, the grace period), the revision a kept revision was cloned from, and a digest another tag
 * outside the plan points at; each with its reason in the plan.
 */
export function oldRevisionCandidates(histories: RevisionHistory[], keep: number): Candidate[] {
  return histories.flatMap(({environment: e, order, revisions}) => {
    if (revisions.length <= keep) return []
    const newest = revisions
      .slice(0, keep)
      .map((r) => label(r, order))
      .join(', ')
    const env = `environment ${e.environmentId}${e.name ? ` "${e.name}"` : ''}`
    return revisions.slice(keep).map((r) => ({
      mongo: [{collection: 'environment_revisions' as const, id: r.revisionId}],
      reason: `revision ${r.revisionId} (${label(r, order)}) of ${env} is older than its newest ${keep} built revisions by ${order} (${newest})`,
      repository: r.repository,
      tag: r.tag!,
    }))
  })
}
