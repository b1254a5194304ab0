import type {CheckOutcome} from '../types.js'

/**
 * The outcome of a check about the in-cluster registry when the registry runs elsewhere: skipped and not required,
 * naming why drc thinks so (`reason` from the registry location) and what is skipped.
 */
export function skippedOutOfCluster(reason: string, skipped: string): CheckOutcome {
  return {
    details: {reason},
    message: `Registry is not running in cluster (${reason}); ${skipped}`,
    required: false,
    status: 'skipped',
  }
}
