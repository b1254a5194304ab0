import {pipeline, type Readable} from 'node:stream'

import type {RegistryClient} from '../registry/client.js'
import type {BackupStore, BlobEntry, ImageRef, RestoreOptions, RestoreResult} from './types.js'

import {DrcError} from '../lib/errors.js'
import {NotFoundError} from '../registry/errors.js'
import {mapLimit} from '../registry/map-limit.js'
import {assertRepository, blobKey} from './layout.js'
import {loadManifest, ProblemError, recordFromIndex} from './read.js'
import {withStore} from './store.js'
import {HeldDigestCheck} from './stream-check.js'
import {readRecord} from './verify.js'
import {walkImage} from './walk.js'

const refText = (ref: ImageRef) => `${ref.repository}${ref.tag === undefined ? `@${ref.digest}` : `:${ref.tag}`}`

/**
 * Streams one blob S3 → registry: GetObject's body goes through HeldDigestCheck into a POST + streamed PUT, so
 * memory stays at a few chunks whatever the blob's size, and a blob whose bytes do not match is never committed.
 */
async function pushBlob(client: RegistryClient, target: BackupStore, repository: string, b: BlobEntry): Promise<void> {
  const key = blobKey(target.prefix, b.digest)
  const got = await withStore(target).getStream(key)
  if (!got) throw new DrcError(`backup blob s3://${target.bucket}/${key} is missing; ${repository} cannot be restored`)
  const check = new HeldDigestCheck(b, `backup blob s3://${target.bucket}/${key}`)
  const body = pipeline(got.stream, check, () => {})
  try {
    await client.uploadBlobStream(repository, b.digest, b.size, body as Readable)
  } catch (error) {
    got.stream.destroy()
    // The registry only sees a broken stream; the check knows why.
    throw check.failure ?? error
  }

  if (check.failure) throw check.failure
}

/** A restore never moves a tag: one that exists on another digest is left alone (like the predecessor's skip). */
async function refuseMovedTag(client: RegistryClient, repository: string, tag: string, digest: string): Promise<void> {
  const now = await client.headManifest(repository, tag).catch((error: unknown) => {
    if (error instanceof NotFoundError) return null
    throw error
  })
  if (now && now.digest !== digest)
    throw new DrcError(
      `${repository}:${tag} exists in the registry as ${now.digest}, the backup is ${digest}: not overwritten`,
      {
        suggestions: ['restore into another repository (--to-repository) or registry (--to), or delete that tag first'],
      },
    )
}

/**
 * Pushes a backed-up image back: blobs the registry lacks (HEAD first, streamed and digest-checked), then index
 * children by digest, then the top manifest under its tag (or by digest). The manifests are read and hash-checked
 * first, and the blob set is derived from them, so a layout written by another tool (no drc record, only its
 * index.json entry) restores too. The registry's digest for each manifest must equal the backed-up one.
 */
export async function restoreImage(
  client: RegistryClient,
  target: BackupStore,
  ref: ImageRef,
  opts: RestoreOptions = {},
): Promise<RestoreResult> {
  const found = await readRecord(target, ref)
  // Only a missing record falls back to index.json: a damaged one is refused, not worked around.
  const record = found.record ?? (found.problem?.kind === 'missing' ? await recordFromIndex(target, ref) : null)
  if (!record) {
    throw new DrcError(
      `cannot restore ${refText(ref)}: ${found.problem?.detail} at s3://${target.bucket}/${found.key}`,
      {
        suggestions: ['`drc backup list` shows what the bucket holds; check s3.bucket and s3.prefix'],
      },
    )
  }

  const repository = opts.repository ?? record.repository
  assertRepository(repository)
  if (record.tag) await refuseMovedTag(client, repository, record.tag, record.digest)
  let graph: Awaited<ReturnType<typeof walkImage>>
  try {
    const top = await loadManifest(target, record.digest)
    graph = await walkImage({...top, digest: record.digest}, (d) => loadManifest(target, d), refText(ref))
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error
    throw new DrcError(
      `backup of ${refText(ref)} is damaged: s3://${target.bucket}/${error.problem.key}: ${error.problem.detail}`,
      {
        suggestions: ['run `drc backup verify` for the full list of problems'],
      },
    )
  }

  let blobsSkipped = 0
  let blobsUploaded = 0
  await mapLimit(graph.blobs, opts.concurrency ?? 4, async (b) => {
    if ((await client.headBlob(repository, b.digest)) === b.size) {
      blobsSkipped++
      return
    }

    await pushBlob(client, target, repository, b)
    blobsUploaded++
  })

  // Children before parents: the registry refuses an index whose children it does not have.
  const ordered = [...graph.manifests].reverse()
  for (const m of ordered) {
    const isTop = m.digest === record.digest
    const reference = isTop && record.tag ? record.tag : m.digest
    // eslint-disable-next-line no-await-in-loop
    const pushed = await client.putManifest(repository, reference, m.body, m.mediaType)
    if (pushed !== m.digest) {
      throw new DrcError(`registry stored ${repository}:${reference} as ${pushed}, expected ${m.digest}`, {
        suggestions: ['the registry rewrote the manifest (schema conversion?); the restored image is not identical'],
      })
    }
  }

  return {
    blobsSkipped,
    blobsUploaded,
    digest: record.digest,
    manifestsPushed: ordered.length,
    repository,
    tag: record.tag,
  }
}
