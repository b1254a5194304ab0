import type {Db} from 'mongodb'

import {
  hexOf,
  type KeptRecord,
  loadIdFilter,
  type MongoChange,
  type MongoRecordCollection,
  type ObjectIdKind,
  type PlannedRemoval,
  readIdFile,
} from '@drc/core'

import {activeRevisionIds} from './keep.js'

const KIND: Record<MongoRecordCollection, ObjectIdKind> = {
  environment_revisions: 'environmentRevision',
  environments_v2: 'environment',
  model_versions: 'modelVersion',
  models: 'model',
}

/** The documents of `collection` an ObjectId file lists (any bad line refuses the file, exit 2). */
export async function planListed(db: Db, file: string, collection: MongoRecordCollection): Promise<MongoChange> {
  const kind = KIND[collection]
  const ids = (await readIdFile(file, {bareKind: kind, kinds: [kind]}))[kind] ?? []
  const idFilter = await loadIdFilter()
  const found = new Set<string>()
  if (ids.length > 0)
    for await (const d of db.collection(collection).find(idFilter('_id', ids), {projection: {_id: 1}})) {
      const id = hexOf(d._id)
      if (id) found.add(id)
    }

  const active = collection === 'environment_revisions' ? await activeRevisionIds(db) : new Map<string, string>()
  const kept: KeptRecord[] = []
  const removals: PlannedRemoval[] = []
  for (const id of ids) {
    if (!found.has(id)) kept.push({collection, id, reason: `listed in ${file}, but not in ${collection}`})
    else if (active.has(id))
      kept.push({collection, id, reason: `listed in ${file}, but the active revision of environment ${active.get(id)}`})
    else removals.push({collection, id, reason: `listed in ${file}`})
  }

  return {kept, removals}
}
