import type {BackupStore, ImageRef} from './types.js'

import {SHA256_METADATA} from './backup.js'
import {blobKey, recordsPrefix} from './layout.js'
import {addToIndex, fromDescriptor, type IndexEntry, readIndex, refName} from './oci-index.js'
import {loadManifest} from './read.js'
import {withStore} from './store.js'
import {readRecord} from './verify.js'
import {walkImage} from './walk.js'

export interface MigrateResult {
  /** Refs added to index.json. */
  indexed: string[]
  /** Manifests copied from manifests/ into blobs/. */
  manifestsCopied: number
  /** Records that could not be migrated, with the reason (left as they were). */
  problems: Array<{key: string; reason: string}>
}

/** `images/<repository>/<tag>.json` → the ref it records (null for keys that are not records). */
function refOfRecordKey(prefix: string, key: string): ImageRef | null {
  const rest = key.slice(recordsPrefix(prefix).length)
  if (!rest.endsWith('.json')) return null
  const slash = rest.lastIndexOf('/')
  if (slash <= 0) return null
  const repository = rest.slice(0, slash)
  const reference = rest.slice(slash + 1, -'.json'.length)
  return reference.startsWith('sha256:') ? {digest: reference, repository} : {repository, tag: reference}
}

/**
 * Brings backups made before the OCI layout into it: every manifest of every drc record is made present under
 * blobs/ (copied from manifests/, hash-checked), and each record not yet in index.json gets its entry (one
 * conditional index update for all). Blobs were already under blobs/. Idempotent; nothing is deleted.
 */
export async function migrateLegacy(target: BackupStore): Promise<MigrateResult> {
  const store = withStore(target)
  const result: MigrateResult = {indexed: [], manifestsCopied: 0, problems: []}
  const {index} = await readIndex(target)
  const known = new Set(index.manifests.map((d) => fromDescriptor(d)?.ref))
  const entries: IndexEntry[] = []
  for (const {key} of await store.listKeys(recordsPrefix(target.prefix))) {
    const ref = refOfRecordKey(target.prefix, key)
    if (!ref) continue
    try {
      // eslint-disable-next-line no-await-in-loop -- one record at a time keeps S3 load and memory flat
      const {problem, record} = await readRecord(target, ref)
      if (!record) throw new Error(problem?.detail ?? 'unreadable record')
      // eslint-disable-next-line no-await-in-loop
      const top = await loadManifest(target, record.digest)
      // eslint-disable-next-line no-await-in-loop
      const graph = await walkImage({...top, digest: record.digest}, (d) => loadManifest(target, d), key)
      for (const m of graph.manifests) {
        const dest = blobKey(target.prefix, m.digest)
        // eslint-disable-next-line no-await-in-loop
        if (await store.head(dest)) continue
        // eslint-disable-next-line no-await-in-loop
        await store.putBytes(dest, m.body, m.mediaType, {[SHA256_METADATA]: m.digest.slice('sha256:'.length)})
        result.manifestsCopied++
      }

      const name = refName(record.repository, record.tag, record.digest)
      if (known.has(name)) continue
      entries.push({
        backedUpAt: record.backed_up_at,
        bytes: graph.blobs.reduce((n, b) => n + b.size, 0),
        digest: record.digest,
        mediaType: top.mediaType,
        repository: record.repository,
        size: top.body.length,
        tag: record.tag,
      })
      result.indexed.push(name)
    } catch (error) {
      result.problems.push({key, reason: (error as Error).message})
    }
  }

  await addToIndex(target, entries)
  return result
}
