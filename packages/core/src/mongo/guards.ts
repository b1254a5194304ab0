import type {Db, Document} from 'mongodb'

import type {MongoRecord} from '../lifecycle/types.js'

import {hexOf} from '../usage/ids.js'

type IdFilter = (field: string, ids: Iterable<string>) => Document

/** A model version referencing revision `id` whose model is not archived (or is gone: unknown is not unused). */
async function revisionReferenced(db: Db, id: string, idf: IdFilter): Promise<null | string> {
  const versions = db.collection('model_versions').find(idf('environmentRevisionId', [id]), {
    projection: {_id: 1, environmentRevisionId: 1, modelId: 1},
  })
  for await (const v of versions) {
    if (hexOf(v.environmentRevisionId) !== id) continue
    const modelId = hexOf(v.modelId)
    const model = modelId
      ? await db.collection('models').findOne(idf('_id', [modelId]), {projection: {isArchived: 1}})
      : null
    if (!model)
      return `model version ${hexOf(v._id) ?? String(v._id)} references it and its model ${modelId} is missing`
    if (model.isArchived !== true)
      return `model version ${hexOf(v._id) ?? String(v._id)} of non-archived model ${modelId} references it`
  }

  return null
}

/** The first document of `collection` whose `field` names `id` (in any id shape), as hex; null when none. */
async function firstReferencing(
  db: Db,
  idf: IdFilter,
  ref: {collection: string; extra?: Document; field: string; id: string},
): Promise<null | string> {
  const {collection, extra = {}, field, id} = ref
  for await (const d of db.collection(collection).find({$and: [idf(field, [id]), extra]}, {projection: {[field]: 1}}))
    if (hexOf(d[field]) === id) return hexOf(d._id) ?? String(d._id)
  return null
}

/**
 * The clean-up guards of domain-spec §3.6–3.8, read live right before each delete. Returns why the record stays,
 * or null when it may go:
 * - a revision stays while a version of a non-archived model references it (model_versions.environmentRevisionId);
 * - an environment stays while one of its revisions remains or a non-archived model names it (models.environmentId);
 * - a model stays while one of its versions remains; a version has no guard of its own (its images are gone).
 */
export async function cleanupGuard(db: Db, record: MongoRecord, idf: IdFilter): Promise<null | string> {
  switch (record.collection) {
    case 'environment_revisions': {
      return revisionReferenced(db, record.id, idf)
    }

    case 'environments_v2': {
      const rev = await firstReferencing(db, idf, {
        collection: 'environment_revisions',
        field: 'environmentId',
        id: record.id,
      })
      if (rev) return `its revision ${rev} remains`
      const model = await firstReferencing(db, idf, {
        collection: 'models',
        extra: {isArchived: {$ne: true}},
        field: 'environmentId',
        id: record.id,
      })
      return model ? `non-archived model ${model} references it` : null
    }

    case 'model_versions': {
      return null
    }

    case 'models': {
      const version = await firstReferencing(db, idf, {collection: 'model_versions', field: 'modelId', id: record.id})
      return version ? `its version ${version} remains` : null
    }
  }
}
