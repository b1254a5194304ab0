import type {HealthCheck} from '../types.js'

import {lockVerdict} from '../../kube/lock-verdict.js'
import {detectRegistryLocation} from '../../kube/registry-location.js'
import {readRegistryLockState} from '../../kube/registry-state.js'
import {skippedOutOfCluster} from './out-of-cluster.js'

/**
 * Is deletion locked on the in-cluster registry? A run killed while unlocked (SIGKILL, a lost node) leaves it
 * enabled; this check is how an operator finds out. The verdict is {@link lockVerdict}'s, shared with
 * `drc registry status`.
 */
export const registryLockCheck: HealthCheck = {
  name: 'registry_lock',
  // Not optional: an unlocked registry matters most to the operators who skip the Kubernetes probes.
  optional: false,
  required: true,
  async run(ctx) {
    const location = await detectRegistryLocation(ctx.config, ctx.kube)
    if (!location.inCluster) {
      return skippedOutOfCluster(location.reason, "its deletion lock is not drc's to check")
    }

    const state = await readRegistryLockState(ctx.config, await ctx.kube())
    const verdict = lockVerdict(state)
    return {
      details: {
        container: state.container,
        deleteEnv: state.entry ?? null,
        lease: state.lease,
        namespace: state.namespace,
        podsUnlocked: state.podsUnlocked,
        rolledOut: state.rolledOut,
        state: verdict.kind,
        statefulset: state.statefulSet,
        ...(verdict.warning ? {warning: verdict.warning} : {}),
      },
      message: verdict.message,
      status: verdict.healthy ? 'healthy' : 'unhealthy',
      suggestions: verdict.suggestions,
    }
  },
}
