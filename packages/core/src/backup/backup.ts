import {pipeline, type Readable} from 'node:stream'

import type {RegistryClient} from '../registry/client.js'
import type {BackupOptions, BackupRecord, BackupResult, BackupStore, ImageRef} from './types.js'

import {mapLimit} from '../registry/map-limit.js'
import {assertDigest, blobKey, manifestKey, recordKey} from './layout.js'
import {addToIndex, type IndexEntry} from './oci-index.js'
import {withStore} from './store.js'
import {DigestCheck} from './stream-check.js'
import {walkImage} from './walk.js'

/** Metadata key of the SHA-256 (hex) computed while the blob streamed through drc. */
export const SHA256_METADATA = 'sha256'
const MIB = 1024 * 1024

function refText(ref: ImageRef): string {
  return ref.tag === undefined ? `${ref.repository}@${ref.digest}` : `${ref.repository}:${ref.tag}`
}

/**
 * Backs up one image (an index with every child) into the OCI layout of layout.ts: blobs first (streamed
 * registry → S3, each digest once across all backups), then manifests, then drc's record, then the image's
 * entry in index.json. Each step comes after the objects it names, so a present entry means a complete image.
 * With `opts.index: false` the caller adds `result.indexEntry` itself (addToIndex, in batches).
 */
export async function backupImage(
  client: RegistryClient,
  target: BackupStore,
  ref: ImageRef,
  opts: BackupOptions = {},
): Promise<BackupResult> {
  const store = withStore(target)
  const reference = ref.tag ?? ref.digest
  if (ref.digest !== undefined) assertDigest(ref.digest, refText(ref))
  const recKey = recordKey(target.prefix, ref.repository, reference)
  const what = refText(ref)

  const top = await client.getManifest(ref.repository, reference)
  const graph = await walkImage(
    top,
    async (digest) => {
      const m = await client.getManifest(ref.repository, digest)
      return {body: m.body, mediaType: m.mediaType}
    },
    what,
  )

  let blobsSkipped = 0
  let blobsUploaded = 0
  let bytesUploaded = 0
  const partSize = Math.max(opts.partSize ?? 8 * MIB, 5 * MIB)
  await mapLimit(graph.blobs, opts.concurrency ?? 4, async (blob) => {
    const key = blobKey(target.prefix, blob.digest)
    const hex = blob.digest.slice('sha256:'.length)
    const present = await store.head(key)
    // Only an object drc stored itself (its streamed hash is in the metadata) and of the right size counts.
    if (present && present.size === blob.size && present.metadata[SHA256_METADATA] === hex) {
      blobsSkipped++
      return
    }

    const started = performance.now()
    const {stream} = await client.getBlob(ref.repository, blob.digest)
    const check = new DigestCheck(blob, `${what} blob ${blob.digest}`)
    // pipeline() destroys the registry stream when the upload gives up on `check`, so no socket is left open.
    const body = pipeline(stream as Readable, check, () => {})
    await store.putStream(key, body, {
      contentType: 'application/octet-stream',
      // The metadata goes out before the bytes, but DigestCheck fails the upload unless they hash to it.
      metadata: {[SHA256_METADATA]: hex},
      partSize,
    })
    blobsUploaded++
    bytesUploaded += blob.size
    opts.onBlob?.({bytes: blob.size, digest: blob.digest, ms: performance.now() - started})
  })

  await mapLimit(graph.manifests, opts.concurrency ?? 4, async (m) => {
    await store.putBytes(manifestKey(target.prefix, m.digest), m.body, m.mediaType, {
      [SHA256_METADATA]: m.digest.slice('sha256:'.length),
    })
  })

  const record: BackupRecord = {
    backed_up_at: (opts.now?.() ?? new Date()).toISOString(),
    blobs: graph.blobs,
    digest: top.digest,
    manifests: graph.manifests.map(({digest, mediaType, size}) => ({digest, mediaType, size})),
    mediaType: top.mediaType,
    repository: ref.repository,
    tag: ref.tag ?? null,
  }
  await store.putBytes(recKey, Buffer.from(JSON.stringify(record, null, 2)), 'application/json')
  const indexEntry: IndexEntry = {
    backedUpAt: record.backed_up_at,
    bytes: graph.blobs.reduce((n, b) => n + b.size, 0),
    digest: top.digest,
    mediaType: top.mediaType,
    repository: ref.repository,
    size: top.body.length,
    tag: record.tag,
  }
  if (opts.index !== false) await addToIndex(target, [indexEntry])
  return {blobsSkipped, blobsUploaded, bytesUploaded, indexEntry, record, recordKey: recKey}
}
