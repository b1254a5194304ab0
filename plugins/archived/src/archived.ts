import type {Db, Document} from 'mongodb'

import {hexOf, loadIdFilter, type MalformedHandler, malformedMessage, warnOnStderr} from '@drc/core'

export interface ArchivedImage {
  /** `_id` (hex) of the revision or model version whose image this is; null when it is no ObjectId. */
  recordId: null | string
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

/**
 * The image a document names at `field` (`{repository, tag}`), null when it names none; a value of the wrong
 * shape is reported (the image is then not a candidate: kept).
 */
function imageAt(
  value: unknown,
  report: (field: string, problem: string) => void,
  field: string,
  recordId: null | string,
): ArchivedImage | null {
  if (value === undefined || value === null) return null
  const image = value as {repository?: unknown; tag?: unknown}
  if (typeof value !== 'object' || Array.isArray(value) || (image.tag !== undefined && typeof image.tag !== 'string')) {
    report(field, 'is not an image name {repository, tag}')
    return null
  }

  if (!image.tag) return null
  return {recordId, repository: typeof image.repository === 'string' ? image.repository : '', tag: image.tag as string}
}

function add(map: Map<string, ArchivedImage[]>, key: string, image: ArchivedImage | null): void {
  if (!image) return
  map.set(key, [...(map.get(key) ?? []), image])
}

/** Archived objects of `collection` by id; documents whose `_id` is no ObjectId are reported and left out. */
async function archivedDocs(db: Db, collection: string, warn: MalformedHandler): Promise<Map<string, string>> {
  const names = new Map<string, string>()
  for await (const d of db.collection(collection).find({isArchived: true}, {projection: {_id: 1, name: 1}})) {
    const id = hexOf(d._id)
    if (id) names.set(id, typeof d.name === 'string' ? d.name : String(d.name ?? ''))
    else warn(malformedMessage(collection, d._id, '_id', 'is not an ObjectId'))
  }

  return names
}

/**
 * Archived environments with the images of all their revisions (streamed, projected reads). Ids in any shape
 * the usage graph accepts; a document that cannot be understood is reported through `warn` and kept.
 */
export async function archivedEnvironments(db: Db, warn: MalformedHandler = warnOnStderr): Promise<ArchivedObject[]> {
  const envs = await archivedDocs(db, 'environments_v2', warn)
  const ids = [...envs.keys()]
  const images = new Map<string, ArchivedImage[]>()
  const counts = new Map<string, number>()
  if (ids.length > 0) {
    const idFilter = await loadIdFilter()
    const cursor = db
      .collection('environment_revisions')
      .find(idFilter('environmentId', ids), {projection: {_id: 1, environmentId: 1, metadata: 1}})
    for await (const r of cursor) {
      const envId = hexOf(r.environmentId)
      if (!envId || !envs.has(envId)) continue
      counts.set(envId, (counts.get(envId) ?? 0) + 1)
      const report = (field: string, problem: string) =>
        warn(malformedMessage('environment_revisions', r._id, field, problem))
      const image = imageAt(metadataOf(r, report)?.dockerImageName, report, 'metadata.dockerImageName', hexOf(r._id))
      add(images, envId, image)
    }
  }

  return ids.map((id) => ({
    children: counts.get(id) ?? 0,
    id,
    images: images.get(id) ?? [],
    kind: 'environment',
    name: envs.get(id)!,
  }))
}

/** Archived models with the slug images of all builds of all their versions. */
export async function archivedModels(db: Db, warn: MalformedHandler = warnOnStderr): Promise<ArchivedObject[]> {
  const models = await archivedDocs(db, 'models', warn)
  const ids = [...models.keys()]
  const images = new Map<string, ArchivedImage[]>()
  const counts = new Map<string, number>()
  if (ids.length > 0) {
    const idFilter = await loadIdFilter()
    // modelId is an embedded {value: ObjectId} in Domino; older documents carry a bare ObjectId (idFilter: both).
    const cursor = db
      .collection('model_versions')
      .find(idFilter('modelId', ids), {projection: {metadata: 1, modelId: 1}})
    for await (const v of cursor) {
      const modelId = hexOf(v.modelId)
      if (!modelId || !models.has(modelId)) continue
      counts.set(modelId, (counts.get(modelId) ?? 0) + 1)
      const report = (field: string, problem: string) => warn(malformedMessage('model_versions', v._id, field, problem))
      const builds = metadataOf(v, report)?.builds
      if (builds === undefined || builds === null) continue
      if (!Array.isArray(builds)) {
        report('metadata.builds', 'is not an array')
        continue
      }

      for (const [i, b] of builds.entries()) {
        const field = `metadata.builds.${i}.slug.image`
        add(images, modelId, imageAt((b as Document | null)?.slug?.image, report, field, hexOf(v._id)))
      }
    }
  }

  return ids.map((id) => ({
    children: counts.get(id) ?? 0,
    id,
    images: images.get(id) ?? [],
    kind: 'model',
    name: models.get(id)!,
  }))
}

/** `metadata` of a document, reported when it is there but not an object. */
function metadataOf(d: Document, report: (field: string, problem: string) => void): Document | undefined {
  const m = d.metadata
  if (m === undefined || m === null) return undefined
  if (typeof m !== 'object' || Array.isArray(m)) {
    report('metadata', 'is not an object')
    return undefined
  }

  return m as Document
}
