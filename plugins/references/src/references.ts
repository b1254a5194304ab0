import type {Db, Document} from 'mongodb'

import {hexOf, type MalformedHandler, malformedMessage, warnOnStderr} from '@drc/core'

/** One MongoDB document field that names a Docker image. */
export interface ImageReference {
  collection: 'environment_revisions' | 'model_versions'
  documentId: string
  fieldPath: string
  repository: string
  tag: string
}

/** The document being read, and where to report what cannot be understood in it. */
interface Source {
  collection: ImageReference['collection']
  d: Document
  warn: MalformedHandler
}

/**
 * The reference at `field` of document `d`, null when the field names no image; a field of the wrong shape (or a
 * document whose `_id` is no ObjectId) is reported and gives null: a reference not listed is never acted on.
 */
function referenceAt({collection, d, warn}: Source, field: string, value: unknown): ImageReference | null {
  if (value === undefined || value === null) return null
  const image = value as {repository?: unknown; tag?: unknown}
  if (typeof value !== 'object' || Array.isArray(value) || (image.tag !== undefined && typeof image.tag !== 'string')) {
    warn(malformedMessage(collection, d._id, field, 'is not an image name {repository, tag}'))
    return null
  }

  if (!image.tag) return null
  const documentId = hexOf(d._id)
  if (!documentId) {
    warn(malformedMessage(collection, d._id, '_id', 'is not an ObjectId'))
    return null
  }

  const repository = typeof image.repository === 'string' ? image.repository : ''
  return {collection, documentId, fieldPath: field, repository, tag: image.tag as string}
}

/** A sub-document of `d` at `field`, reported when present but not an object. */
function objectAt({collection, d, warn}: Source, field: string, value: unknown) {
  if (value === undefined || value === null) return
  if (typeof value === 'object' && !Array.isArray(value)) return value as Document
  warn(malformedMessage(collection, d._id, field, 'is not an object'))
}

/**
 * Streams every image reference of environment revisions and model version builds (projected reads). Documents
 * that cannot be understood are reported through `warn` and skipped.
 * @yields one reference per image-naming field
 */
export async function* imageReferences(db: Db, warn: MalformedHandler = warnOnStderr): AsyncGenerator<ImageReference> {
  const revisions = db
    .collection('environment_revisions')
    .find({'metadata.dockerImageName.tag': {$exists: true}}, {projection: {'metadata.dockerImageName': 1}})
  for await (const r of revisions) {
    const source: Source = {collection: 'environment_revisions', d: r, warn}
    const metadata = objectAt(source, 'metadata', r.metadata)
    const ref = referenceAt(source, 'metadata.dockerImageName', metadata?.dockerImageName)
    if (ref) yield ref
  }

  const versions = db.collection('model_versions').find({}, {projection: {'metadata.builds': 1}})
  for await (const v of versions) {
    const source: Source = {collection: 'model_versions', d: v, warn}
    const builds = objectAt(source, 'metadata', v.metadata)?.builds
    if (builds === undefined || builds === null) continue
    if (!Array.isArray(builds)) {
      warn(malformedMessage('model_versions', v._id, 'metadata.builds', 'is not an array'))
      continue
    }

    for (const [i, b] of builds.entries()) {
      const field = `metadata.builds.${i}.slug.image`
      const ref = referenceAt(source, field, (b as Document | null)?.slug?.image)
      if (ref) yield ref
    }
  }
}
