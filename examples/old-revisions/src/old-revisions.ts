import type {Db, ObjectId} from 'mongodb'

export interface OldRevision {
  environmentId: string
  revisionId: string
  tag: string
}

interface Revision {
  cloned: null | string
  environmentId: string
  id: string
  tag: null | string
}

/**
 * Revisions beyond the newest `keep` of each environment (creation order = ObjectId order), never the active
 * revision, and never a revision that a kept revision was cloned from (its build chain).
 */
export async function oldRevisions(db: Db, keep: number): Promise<OldRevision[]> {
  const active = new Set<string>()
  for await (const e of db.collection('environments_v2').find({}, {projection: {activeRevisionId: 1}}))
    if (e.activeRevisionId) active.add(String(e.activeRevisionId))

  const byEnv = new Map<string, Revision[]>()
  const cursor = db
    .collection('environment_revisions')
    .find(
      {'metadata.isBuilt': {$ne: false}},
      {projection: {clonedEnvironmentRevisionId: 1, environmentId: 1, 'metadata.dockerImageName.tag': 1}},
    )
    .sort({_id: 1})
  for await (const r of cursor) {
    const environmentId = String(r.environmentId as ObjectId)
    const list = byEnv.get(environmentId) ?? []
    list.push({
      cloned: r.clonedEnvironmentRevisionId ? String(r.clonedEnvironmentRevisionId) : null,
      environmentId,
      id: String(r._id),
      tag: (r.metadata as undefined | {dockerImageName?: {tag?: string}})?.dockerImageName?.tag ?? null,
    })
    byEnv.set(environmentId, list)
  }

  const candidates: Revision[] = []
  const kept = new Set<string>()
  for (const list of byEnv.values()) {
    const cut = Math.max(0, list.length - keep)
    for (const [i, r] of list.entries()) (i < cut && !active.has(r.id) ? candidates : []).push(r)
    for (const r of list.slice(cut)) kept.add(r.id)
    for (const r of list) if (active.has(r.id)) kept.add(r.id)
  }

  const clonedByKept = new Set<string>()
  for (const list of byEnv.values()) for (const r of list) if (kept.has(r.id) && r.cloned) clonedByKept.add(r.cloned)
  return candidates
    .filter((r) => r.tag && !clonedByKept.has(r.id))
    .map((r) => ({environmentId: r.environmentId, revisionId: r.id, tag: r.tag!}))
}
