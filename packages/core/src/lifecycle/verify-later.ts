import type {RegistryClient} from '../registry/client.js'
import type {ItemOutcome, PlanItem} from './types.js'

import {errorMessage} from '../lib/errors.js'
import {NotFoundError} from '../registry/errors.js'

const sleep = async (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms)
  })

/**
 * Verifies accepted deletes whose HEAD failed, with retries and a growing delay (the registry may have been
 * briefly unavailable). Updates each outcome in place: gone → deleted; still served → failed; never verified →
 * stays deleted-unverified with the last reason. The DELETE itself is never sent again.
 */
export async function verifyLater(
  pending: ItemOutcome[],
  deps: {registry: RegistryClient; verify?: {attempts: number; delayMs: number}},
): Promise<void> {
  const {attempts, delayMs} = deps.verify ?? {attempts: 4, delayMs: 500}
  let left = [...pending]
  for (let attempt = 0; attempt < attempts && left.length > 0; attempt++) {
    // eslint-disable-next-line no-await-in-loop -- waits between rounds on purpose
    await sleep(delayMs * 2 ** attempt)
    const next: ItemOutcome[] = []
    for (const outcome of left) {
      // eslint-disable-next-line no-await-in-loop
      const still = await stillServed(deps.registry, outcome)
      if (still === false) {
        outcome.status = 'deleted'
        outcome.reason = `verified gone after ${attempt + 1} more HEAD round(s)`
      } else if (still === true) {
        outcome.status = 'failed'
        outcome.reason = 'the registry accepted the delete but still serves the manifest'
      } else {
        outcome.reason = `accepted (202), but no HEAD could verify it is gone (${attempt + 1} more rounds): ${still}`
        next.push(outcome)
      }
    }

    left = next
  }
}

/** true: still served; false: gone (404); a string: the verification itself failed, with why. */
export async function stillServed(registry: RegistryClient, item: ItemOutcome | PlanItem): Promise<boolean | string> {
  try {
    await registry.headManifest(item.repository, item.digest)
    return true
  } catch (error) {
    if (error instanceof NotFoundError) return false
    return errorMessage(error)
  }
}
