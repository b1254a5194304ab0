import {createHash} from 'node:crypto'

import type {RegistryClient} from '../registry/client.js'
import type {BackupStore, ImageRef, RestoreOptions, RestoreResult} from './types.js'

import {DrcError} from '../lib/errors.js'
import {mapLimit} from '../registry/map-limit.js'
import {assertRepository, blobKey, manifestKey} from './layout.js'
import {withStore} from './store.js'
import {readRecord} from './verify.js'

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`
}

/**
 * Pushes a backed-up image back: blobs the registry lacks (HEAD first), then index children by digest, then
 * the top manifest under its tag (or by digest). Every object is checked against its digest before it is
 * pushed, and the registry's digest for the top manifest must equal the backed-up one.
 *
 * Blobs pass through memory one at a time per worker, because RegistryClient.uploadBlob takes a Buffer.
 */
export async function restoreImage(
  client: RegistryClient,
  target: BackupStore,
  ref: ImageRef,
  opts: RestoreOptions = {},
): Promise<RestoreResult> {
  const store = withStore(target)
  const {key: recKey, problem, record} = await readRecord(target, ref)
  if (!record) {
    throw new DrcError(
      `cannot restore ${ref.repository}:${ref.tag ?? ref.digest}: ${problem?.detail} at s3://${target.bucket}/${recKey}`,
      {
        suggestions: ['list the backups under images/ in the bucket, or check s3.bucket and s3.prefix'],
      },
    )
  }

  const repository = opts.repository ?? record.repository
  assertRepository(repository)

  let blobsSkipped = 0
  let blobsUploaded = 0
  await mapLimit(record.blobs, opts.concurrency ?? 4, async (b) => {
    if ((await client.headBlob(repository, b.digest)) === b.size) {
      blobsSkipped++
      return
    }

    const key = blobKey(target.prefix, b.digest)
    const got = await store.getBytes(key)
    if (!got)
      throw new DrcError(`backup blob s3://${target.bucket}/${key} is missing; ${repository} cannot be restored`)
    const actual = sha256(got.body)
    if (actual !== b.digest) {
      throw new DrcError(`backup blob s3://${target.bucket}/${key} hashes to ${actual}, expected ${b.digest}`, {
        suggestions: ['the backup is corrupt; run verifyBackup and take a new backup if the image still exists'],
      })
    }

    await client.uploadBlob(repository, b.digest, got.body)
    blobsUploaded++
  })

  // Children before parents: the registry refuses an index whose children it does not have.
  const ordered = [...record.manifests].reverse()
  for (const m of ordered) {
    const key = manifestKey(target.prefix, m.digest)
    // eslint-disable-next-line no-await-in-loop
    const got = await store.getBytes(key)
    if (!got)
      throw new DrcError(`backup manifest s3://${target.bucket}/${key} is missing; ${repository} cannot be restored`)
    const actual = sha256(got.body)
    if (actual !== m.digest) {
      throw new DrcError(`backup manifest s3://${target.bucket}/${key} hashes to ${actual}, expected ${m.digest}`)
    }

    const isTop = m.digest === record.digest
    const reference = isTop && record.tag ? record.tag : m.digest
    // eslint-disable-next-line no-await-in-loop
    const pushed = await client.putManifest(repository, reference, got.body, got.contentType || m.mediaType)
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
