import type {Db} from 'mongodb'

import {hexOf, loadIdFilter, malformedMessage, warnOnStderr} from '@drc/core'

/** An environment revision with its image (what both the unused and the old-revisions rules need). */
export interface RevisionImage {
  /** False for a failed build (`metadata.isBuilt: false`): MongoDB names a tag, but no image was pushed. */
  built: boolean
  clonedFrom: null | string
  /** `metadata.number` or `number` when it is a number (Domino's revision number). */
  number: null | number
  repository: string
  revisionId: string
  /** null: the revision names no image. */
  tag: null | string
}

export interface EnvironmentImages {
  activeRevisionId: null | string
  archived: boolean
  environmentId: string
  name: null | string
  revisions: RevisionImage[]
}

const toNumber = (v: unknown): null | number => (typeof v === 'number' && Number.isFinite(v) ? v : null)

/**
 * Every environment (or those of `only`) with all of its revisions, streamed with projections. Documents whose
 * `_id` is no ObjectId are reported and left out (they are then never candidates).
 */
export async function readEnvironmentImages(db: Db, only?: ReadonlySet<string>): Promise<EnvironmentImages[]> {
  const idf = await loadIdFilter()
  const envs = new Map<string, EnvironmentImages>()
  // eslint-disable-next-line unicorn/no-array-method-this-argument -- a MongoDB find, not Array#find
  const envCursor = db.collection('environments_v2').find(only ? idf('_id', only) : {_id: {$exists: true}}, {
    projection: {_id: 1, activeRevisionId: 1, isArchived: 1, name: 1},
  })
  for await (const e of envCursor) {
    const id = hexOf(e._id)
    if (!id) {
      warnOnStderr(malformedMessage('environments_v2', e._id, '_id', 'is not an ObjectId'))
      continue
    }

    envs.set(id, {
      activeRevisionId: hexOf(e.activeRevisionId),
      // Only an explicit `false` is "not archived" (the predecessor's rule): a document lacking it is left alone.
      archived: e.isArchived !== false,
      environmentId: id,
      name: typeof e.name === 'string' ? e.name : null,
      revisions: [],
    })
  }

  if (envs.size === 0) return []
  const revCursor = db.collection('environment_revisions').find(idf('environmentId', envs.keys()), {
    projection: {_id: 1, clonedEnvironmentRevisionId: 1, environmentId: 1, metadata: 1, number: 1},
  })
  for await (const r of revCursor) {
    const env = envs.get(hexOf(r.environmentId) ?? '')
    const revisionId = hexOf(r._id)
    if (!env || !revisionId) continue
    const image = r.metadata?.dockerImageName
    env.revisions.push({
      built: r.metadata?.isBuilt !== false,
      clonedFrom: hexOf(r.clonedEnvironmentRevisionId),
      number: toNumber(r.metadata?.number) ?? toNumber(r.number),
      repository: typeof image?.repository === 'string' ? image.repository : '',
      revisionId,
      tag: typeof image?.tag === 'string' && image.tag !== '' ? image.tag : null,
    })
  }

  return [...envs.values()]
}
