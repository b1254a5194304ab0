import type {BackupStore} from '../backup/types.js'
import type {RegistryClient} from '../registry/client.js'
import type {PlanItem} from './types.js'

import {errorMessage} from '../lib/errors.js'
import {itemKey} from './types.js'

/**
 * Backs up every tagged planned revision (an index with all its children) and verifies it (invariant 4). Returns
 * the keys that are backed up and verified, and a failure reason per key that is not.
 */
export async function backupItems(
  items: readonly PlanItem[],
  registry: RegistryClient,
  store: BackupStore,
  opts: {onItem?: (item: PlanItem, error: null | string) => void; signal?: AbortSignal} = {},
): Promise<{failed: Map<string, string>; verified: Set<string>}> {
  const [{backupImage}, {verifyBackup}] = await Promise.all([
    import('../backup/backup.js'),
    import('../backup/verify.js'),
  ])
  const verified = new Set<string>()
  const failed = new Map<string, string>()
  for (const item of items) {
    // Cancelled: stop between images (the pipeline no longer waits for this loop).
    if (opts.signal?.aborted) break
    // Index children are part of their index's backup.
    if (item.tags.length === 0) continue
    let problem: null | string = null
    try {
      // Backed up by tag (restore finds it by tag); the digest check below catches a tag that moved since planning.
      const ref = {repository: item.repository, tag: item.tags[0]}
      // eslint-disable-next-line no-await-in-loop -- one image at a time; each streams its blobs concurrently
      const result = await backupImage(registry, store, ref)
      if (result.record.digest === item.digest) {
        // eslint-disable-next-line no-await-in-loop
        const check = await verifyBackup(store, ref)
        if (!check.verified) problem = `backup not verified: ${check.problems.map((p) => p.detail).join('; ')}`
      } else {
        problem = `backup failed: ${item.repository}:${item.tags[0]} now points at ${result.record.digest}, not the planned ${item.digest}`
      }
    } catch (error) {
      problem = `backup failed: ${errorMessage(error)}`
    }

    if (problem) failed.set(itemKey(item), problem)
    else verified.add(itemKey(item))
    opts.onItem?.(item, problem)
  }

  return {failed, verified}
}

export type {DeleteDeps} from './delete-items.js'
export {deleteItems, RecheckFailedError} from './delete-items.js'
