import type {PlanItem} from './types.js'

import {itemKey} from './types.js'

/**
 * Cuts the ordered plan into small batches (each re-checked right before its deletes): a batch ends early before
 * an item one of whose planned parents is in it, so an index is always done before its children are considered.
 */
export function batchesOf(items: readonly PlanItem[], size: number): PlanItem[][] {
  const batches: PlanItem[][] = []
  let current: PlanItem[] = []
  let keys = new Set<string>()
  for (const item of items) {
    if (current.length >= size || item.parents.some((p) => keys.has(p))) {
      batches.push(current)
      current = []
      keys = new Set()
    }

    current.push(item)
    keys.add(itemKey(item))
  }

  if (current.length > 0) batches.push(current)
  return batches
}

/** Runs `work` over `items` with at most `limit` at a time, in order of start; stops starting new ones when `stop()`. */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
  stop: () => boolean,
): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length && !stop()) {
      const item = items[next++]
      // eslint-disable-next-line no-await-in-loop -- each worker handles one item at a time
      await work(item)
    }
  }

  await Promise.all(Array.from({length: Math.max(1, Math.min(limit, items.length))}, () => worker()))
}
