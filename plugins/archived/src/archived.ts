import type {Db, ObjectId} from 'mongodb'

export interface ArchivedImage {
  repository: string
  tag: string
}

export interface ArchivedObject {
  /** Revisions (environments) or versions (models) found for it. */
  children: number
  id: string
  images: ArchivedImage[]
  kind: 'environment' | 'model'
  name: string
}

interface ImageName {
  repository?: string
  tag?: string
}

function push(map: Map<string, ArchivedImage[]>, key: string, image: ImageName | undefined): void {
  if (!image?.tag) return
  const list = map.get(key) ?? []
  list.push({repository: image.repository ?? '', tag: image.tag})
  map.set(key, list)
}

/** Archived environments with the images of all their revisions (streamed, projected reads). */
export async function archivedEnvironments(db: Db): Promise<ArchivedObject[]> {
  const envs = new Map<string, {name: string}>()
  for await (const e of db.collection('environments_v2').find({isArchived: true}, {projection: {_id: 1, name: 1}}))
    envs.set(String(e._id), {name: String(e.name ?? '')})
  const ids = [...envs.keys()]
  const images = new Map<string, ArchivedImage[]>()
  const counts = new Map<string, number>()
  if (ids.length > 0) {
    const {ObjectId} = await import('mongodb')
    const cursor = db
      .collection('environment_revisions')
      .find(
        {environmentId: {$in: ids.map((id) => new ObjectId(id))}},
        {projection: {environmentId: 1, 'metadata.dockerImageName': 1}},
      )
    for await (const r of cursor) {
      const envId = String(r.environmentId as ObjectId)
      counts.set(envId, (counts.get(envId) ?? 0) + 1)
      push(images, envId, (r.metadata as undefined | {dockerImageName?: ImageName})?.dockerImageName)
    }
  }

  return ids.map((id) => ({
    children: counts.get(id) ?? 0,
    id,
    images: images.get(id) ?? [],
    kind: 'environment',
    name: envs.get(id)!.name,
  }))
}

/** Archived models with the slug images of all builds of all their versions. */
export async function archivedModels(db: Db): Promise<ArchivedObject[]> {
  const models = new Map<string, {name: string}>()
  for await (const m of db.collection('models').find({isArchived: true}, {projection: {_id: 1, name: 1}}))
    models.set(String(m._id), {name: String(m.name ?? '')})
  const ids = [...models.keys()]
  const images = new Map<string, ArchivedImage[]>()
  const counts = new Map<string, number>()
  if (ids.length > 0) {
    const {ObjectId} = await import('mongodb')
    const oids = ids.map((id) => new ObjectId(id))
    // modelId is an embedded {value: ObjectId} in Domino; older documents carry a bare ObjectId.
    const cursor = db
      .collection('model_versions')
      .find(
        {$or: [{'modelId.value': {$in: oids}}, {modelId: {$in: oids}}]},
        {projection: {'metadata.builds': 1, modelId: 1}},
      )
    for await (const v of cursor) {
      const raw = v.modelId as ObjectId | {value?: ObjectId}
      const modelId = String('value' in raw && raw.value ? raw.value : raw)
      counts.set(modelId, (counts.get(modelId) ?? 0) + 1)
      const builds = (v.metadata as undefined | {builds?: Array<{slug?: {image?: ImageName}}>})?.builds ?? []
      for (const b of builds) push(images, modelId, b.slug?.image)
    }
  }

  return ids.map((id) => ({
    children: counts.get(id) ?? 0,
    id,
    images: images.get(id) ?? [],
    kind: 'model',
    name: models.get(id)!.name,
  }))
}
