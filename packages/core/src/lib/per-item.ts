import {errorMessage} from './errors.js'
import {ExitCode} from './exit-codes.js'

export interface ItemOutcome<T> {
  error: null | string
  item: string
  ok: boolean
  result: null | T
}

/**
 * Runs `fn` for every item, one after another, keeping going after a failure; the exit code follows the
 * table in design.md: 0 all succeeded, 4 some failed, 1 all failed.
 */
export async function forEachItem<T>(
  items: string[],
  fn: (item: string) => Promise<{ok: boolean; result: T}>,
): Promise<{exitCode: number; outcomes: Array<ItemOutcome<T>>}> {
  const outcomes: Array<ItemOutcome<T>> = []
  for (const item of items) {
    try {
      // Items run one at a time: each already uses the registry and S3 concurrently inside.
      // eslint-disable-next-line no-await-in-loop
      const {ok, result} = await fn(item)
      outcomes.push({error: null, item, ok, result})
    } catch (error) {
      outcomes.push({error: errorMessage(error), item, ok: false, result: null})
    }
  }

  const failed = outcomes.filter((o) => !o.ok).length
  return {exitCode: perItemExitCode({failed, succeeded: outcomes.length - failed}), outcomes}
}

/**
 * The one rule for commands that work item by item (the deletion lifecycle and `drc backup create` alike,
 * design.md invariant 8): 0 when nothing failed, 1 when items failed and none succeeded, 4 when some failed.
 * `uncertain` items (e.g. deleted but not verified) are neither: they make a run partial, never a success.
 */
export function perItemExitCode(counts: {failed: number; succeeded: number; uncertain?: number}): number {
  const uncertain = counts.uncertain ?? 0
  if (counts.failed === 0 && uncertain === 0) return ExitCode.SUCCESS
  if (counts.succeeded === 0 && uncertain === 0) return ExitCode.FAILURE
  return ExitCode.PARTIAL
}
