import type {BackupStore} from './types.js'

import {DrcError} from '../lib/errors.js'
import {MediaType} from '../registry/media-types.js'
import {assertDigest, assertRepository, assertTag, indexKey, ociLayoutKey} from './layout.js'
import {withStore} from './store.js'

/** The annotation OCI tools (skopeo `oci:<dir>:<ref>`) look a ref up by. */
export const REF_NAME = 'org.opencontainers.image.ref.name'
export const CREATED = 'org.opencontainers.image.created'
/** drc's annotations: the manifest's real media type, and the facts `drc backup list` shows without more reads. */
export const A_MEDIA_TYPE = 'drc.backup.media-type'
export const A_REPOSITORY = 'drc.backup.repository'
export const A_TAG = 'drc.backup.tag'
export const A_SIZE = 'drc.backup.size'

export interface IndexDescriptor {
  annotations: Record<string, string>
  digest: string
  mediaType: string
  size: number
}

export interface OciIndex {
  manifests: IndexDescriptor[]
  mediaType: string
  schemaVersion: 2
}

/** What one backed-up ref adds to index.json. */
export interface IndexEntry {
  backedUpAt: string
  /** Bytes of every blob of the image (all platforms). */
  bytes: number
  digest: string
  /** The manifest's own media type (Docker or OCI). */
  mediaType: string
  repository: string
  size: number
  tag: null | string
}

/** `repository:tag`, or `repository@sha256:…` for a digest-only backup: both fit the OCI ref.name grammar. */
export const refName = (repository: string, tag: null | string, digest: string): string =>
  tag === null ? `${repository}@${digest}` : `${repository}:${tag}`

/**
 * skopeo (containers/image) only finds a ref on an entry whose mediaType is an OCI manifest or index. The
 * manifest bytes stay exactly as served (the digest must not change), so a Docker-format image is described by
 * the OCI type of the same shape, and its real type is kept in an annotation. Pushing these bytes, skopeo sends
 * the type written in them; drc's restore uses the annotation (or the bytes) too.
 */
export function descriptorMediaType(mediaType: string): string {
  if (mediaType === MediaType.DOCKER_MANIFEST) return MediaType.OCI_MANIFEST
  if (mediaType === MediaType.DOCKER_LIST) return MediaType.OCI_INDEX
  return mediaType
}

export function toDescriptor(e: IndexEntry): IndexDescriptor {
  const annotations: Record<string, string> = {
    [A_MEDIA_TYPE]: e.mediaType,
    [A_REPOSITORY]: e.repository,
    [A_SIZE]: String(e.bytes),
    [CREATED]: e.backedUpAt,
    [REF_NAME]: refName(e.repository, e.tag, e.digest),
  }
  if (e.tag !== null) annotations[A_TAG] = e.tag
  return {annotations, digest: e.digest, mediaType: descriptorMediaType(e.mediaType), size: e.size}
}

/** A listed backup, from index.json alone. */
export interface IndexedBackup {
  backedUpAt: null | string
  bytes: null | number
  digest: string
  mediaType: string
  ref: string
  repository: string
  tag: null | string
}

/** index.json entries read back are outside input: names and digests are checked; a bad entry is skipped. */
export function fromDescriptor(d: IndexDescriptor): IndexedBackup | null {
  const a = d.annotations ?? {}
  const ref = a[REF_NAME]
  const repository = a[A_REPOSITORY]
  if (typeof ref !== 'string' || typeof repository !== 'string') return null
  try {
    assertDigest(d.digest, `index.json entry ${ref}`)
    assertRepository(repository, `index.json entry ${ref}`)
    if (a[A_TAG] !== undefined) assertTag(a[A_TAG], `index.json entry ${ref}`)
  } catch {
    return null
  }

  const bytes = Number(a[A_SIZE])
  return {
    backedUpAt: a[CREATED] ?? null,
    bytes: Number.isSafeInteger(bytes) ? bytes : null,
    digest: d.digest,
    mediaType: a[A_MEDIA_TYPE] ?? d.mediaType,
    ref,
    repository,
    tag: a[A_TAG] ?? null,
  }
}

const emptyIndex = (): OciIndex => ({manifests: [], mediaType: MediaType.OCI_INDEX, schemaVersion: 2})

function parseIndex(body: Buffer, where: string): OciIndex {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as Partial<OciIndex>
    if (!Array.isArray(parsed.manifests)) throw new Error('no manifests list')
    return {...emptyIndex(), ...parsed, manifests: parsed.manifests} as OciIndex
  } catch (error) {
    throw new DrcError(`${where} is not an OCI index: ${(error as Error).message}`, {
      suggestions: ['restore index.json from a copy, or move it aside: drc writes a new one on the next backup'],
    })
  }
}

/** index.json of the layout (empty when there is none yet). */
export async function readIndex(target: BackupStore): Promise<{etag: null | string; index: OciIndex}> {
  const key = indexKey(target.prefix)
  const got = await withStore(target).getBytes(key)
  if (!got) return {etag: null, index: emptyIndex()}
  return {etag: got.etag ?? null, index: parseIndex(got.body, `s3://${target.bucket}/${key}`)}
}

const MAX_ATTEMPTS = 20

/**
 * Adds (or replaces, per ref name) entries in index.json. Concurrent backups share the file: each update is a
 * read-modify-write with an S3 conditional PutObject (If-Match the ETag read, or If-None-Match for a new file),
 * retried from a fresh read when another writer got in first, so no writer's entries are lost.
 */
export async function addToIndex(target: BackupStore, entries: readonly IndexEntry[]): Promise<void> {
  if (entries.length === 0) return
  const store = withStore(target)
  const key = indexKey(target.prefix)
  if (!(await store.head(ociLayoutKey(target.prefix)))) {
    await store.putBytes(
      ociLayoutKey(target.prefix),
      Buffer.from('{"imageLayoutVersion": "1.0.0"}'),
      'application/json',
    )
  }

  const added = entries.map((e) => toDescriptor(e))
  const names = new Set(added.map((d) => d.annotations[REF_NAME]))
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    // eslint-disable-next-line no-await-in-loop -- each attempt re-reads what the other writer left
    const {etag, index} = await readIndex(target)
    const kept = index.manifests.filter((d) => !names.has(d.annotations?.[REF_NAME] ?? ''))
    const body = Buffer.from(JSON.stringify({...index, manifests: [...kept, ...added]}, null, 1))
    // eslint-disable-next-line no-await-in-loop
    if (await store.putIfUnchanged(key, body, MediaType.OCI_INDEX, etag)) return
    // eslint-disable-next-line no-await-in-loop -- a short random pause spreads competing writers apart
    await new Promise((resolve) => {
      setTimeout(resolve, 20 + Math.random() * 50 * (attempt + 1))
    })
  }

  throw new DrcError(`could not update s3://${target.bucket}/${key}: ${MAX_ATTEMPTS} concurrent writers in a row`, {
    suggestions: ['run fewer backups at the same time against the same s3.prefix, then back up again'],
  })
}
