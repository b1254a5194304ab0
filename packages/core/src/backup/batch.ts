import type {RegistryClient} from '../registry/client.js'
import type {BackupStore, ImageRef} from './types.js'

import {errorMessage} from '../lib/errors.js'
import {itemKey} from '../lifecycle/types.js'
import {backupImage} from './backup.js'
import {addToIndex, type IndexEntry, readIndex} from './oci-index.js'
import {verifyBackup} from './verify.js'

/** What the lifecycle backs up: a planned revision (an index child, untagged, goes with its index). */
export interface BackupItem {
  digest: string
  repository: string
  tags: string[]
}

export interface BackupItemsOptions {
  /** Images whose index.json entries are written together (default 25): one index write per batch, not per image. */
  batchSize?: number
  onItem?: (item: BackupItem, error: null | string) => void
  signal?: AbortSignal
}

type Backed = {entry: IndexEntry; item: BackupItem; ref: ImageRef}

/** Backs one item up (blobs, manifests, record; no index entry yet): its entry, or why it failed. */
async function backupOne(registry: RegistryClient, store: BackupStore, item: BackupItem): Promise<Backed | string> {
  // Backed up by tag (restore finds it by tag); the digest check catches a tag that moved since planning.
  const ref = {repository: item.repository, tag: item.tags[0]}
  try {
    const result = await backupImage(registry, store, ref, {index: false})
    if (result.record.digest !== item.digest)
      return `backup failed: ${item.repository}:${item.tags[0]} now points at ${result.record.digest}, not the planned ${item.digest}`
    return {entry: result.indexEntry, item, ref}
  } catch (error) {
    return `backup failed: ${errorMessage(error)}`
  }
}

/**
 * One batch: each image backed up, then their index.json entries in one write (after everything they name, so an
 * interrupted run leaves a layout whose index lists complete images only), then each verified against the index
 * as read back once. Returns the failure reason per key (null: backed up and verified).
 */
async function backupBatch(
  registry: RegistryClient,
  store: BackupStore,
  batch: readonly BackupItem[],
  opts: BackupItemsOptions,
): Promise<Map<string, null | string>> {
  const out = new Map<string, null | string>()
  const backed: Backed[] = []
  for (const item of batch) {
    if (opts.signal?.aborted) break
    // eslint-disable-next-line no-await-in-loop -- one image at a time; each streams its blobs concurrently
    const got = await backupOne(registry, store, item)
    if (typeof got === 'string') out.set(itemKey(item), got)
    else backed.push(got)
  }

  try {
    await addToIndex(
      store,
      backed.map((b) => b.entry),
    )
    // Cancelled: the entries are written (the layout stays consistent); verifying can wait for the next run.
    if (opts.signal?.aborted) return out
    const {index} = await readIndex(store)
    for (const b of backed) {
      // eslint-disable-next-line no-await-in-loop -- verification reads objects back; one image at a time
      const check = await verifyBackup(store, b.ref, {index}).catch((error: unknown) => ({
        problems: [{detail: errorMessage(error)}],
        verified: false,
      }))
      out.set(
        itemKey(b.item),
        check.verified ? null : `backup not verified: ${check.problems.map((p) => p.detail).join('; ')}`,
      )
    }
  } catch (error) {
    for (const b of backed) out.set(itemKey(b.item), `backup failed: index.json: ${errorMessage(error)}`)
  }

  return out
}

/**
 * Backs up every tagged planned revision (an index with all its children) and verifies it (invariant 4), in
 * batches: index.json is rewritten once per batch instead of once per image (whose cost grew with the index).
 * An image counts as backed up only once verified, which includes its entry in index.json. Returns the keys
 * backed up and verified, and a failure reason per key that is not.
 */
export async function backupItems(
  items: readonly BackupItem[],
  registry: RegistryClient,
  store: BackupStore,
  opts: BackupItemsOptions = {},
): Promise<{failed: Map<string, string>; verified: Set<string>}> {
  const verified = new Set<string>()
  const failed = new Map<string, string>()
  // Index children are part of their index's backup.
  const tagged = items.filter((i) => i.tags.length > 0)
  const size = Math.max(1, opts.batchSize ?? 25)
  for (let i = 0; i < tagged.length; i += size) {
    // Cancelled: stop between batches (the pipeline no longer waits for this loop).
    if (opts.signal?.aborted) break
    const batch = tagged.slice(i, i + size)
    // eslint-disable-next-line no-await-in-loop -- batches one after the other
    const done = await backupBatch(registry, store, batch, opts)
    for (const item of batch) {
      if (!done.has(itemKey(item))) continue
      const problem = done.get(itemKey(item)) ?? null
      if (problem) failed.set(itemKey(item), problem)
      else verified.add(itemKey(item))
      opts.onItem?.(item, problem)
    }
  }

  // Fail closed: an image the loop did not reach (cancelled) is not backed up, so it may not be deleted either.
  for (const item of tagged)
    if (!verified.has(itemKey(item)) && !failed.has(itemKey(item)))
      failed.set(itemKey(item), 'not backed up: the backup was cancelled')
  return {failed, verified}
}
