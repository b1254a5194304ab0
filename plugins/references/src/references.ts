import type {Db} from 'mongodb'

/** One MongoDB document field that names a Docker image. */
export interface ImageReference {
  collection: 'environment_revisions' | 'model_versions'
  documentId: string
  fieldPath: string
  repository: string
  tag: string
}

interface ImageName {
  repository?: string
  tag?: string
}

/**
 * Streams every image reference of environment revisions and model version builds (projected reads).
 * @yields one reference per image-naming field
 */
export async function* imageReferences(db: Db): AsyncGenerator<ImageReference> {
  const revisions = db
    .collection('environment_revisions')
    .find({'metadata.dockerImageName.tag': {$exists: true}}, {projection: {'metadata.dockerImageName': 1}})
  for await (const r of revisions) {
    const image = (r.metadata as {dockerImageName?: ImageName}).dockerImageName
    if (image?.tag)
      yield {
        collection: 'environment_revisions',
        documentId: String(r._id),
        fieldPath: 'metadata.dockerImageName',
        repository: image.repository ?? '',
        tag: image.tag,
      }
  }

  const versions = db.collection('model_versions').find({}, {projection: {'metadata.builds': 1}})
  for await (const v of versions) {
    const builds = (v.metadata as undefined | {builds?: Array<{slug?: {image?: ImageName}}>})?.builds ?? []
    for (const [i, b] of builds.entries()) {
      const image = b.slug?.image
      if (image?.tag)
        yield {
          collection: 'model_versions',
          documentId: String(v._id),
          fieldPath: `metadata.builds.${i}.slug.image`,
          repository: image.repository ?? '',
          tag: image.tag,
        }
    }
  }
}
