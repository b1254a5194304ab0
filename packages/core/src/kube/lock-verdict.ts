import type {LeaseInfo, RegistryLockState} from './registry-state.js'

import {describeEntry} from './registry-lock.js'
import {describeTarget, lockTarget} from './registry-state.js'

export type LockVerdictKind = 'locked' | 'unlocked-by-crashed-run' | 'unlocked-by-live-run' | 'unlocked-unexplained'

export interface LockVerdict {
  /**
   * False when deletion is unlocked and no live drc run explains it. An unlock by a live run (it renews its lease
   * and re-locks when it ends) is healthy with a warning: failing then would alarm on every deletion run and push
   * operators to force-lock under a running batch; if that run dies, its lease expires (or its process is seen
   * gone) and the verdict turns unhealthy.
   */
  healthy: boolean
  kind: LockVerdictKind
  message: string
  suggestions: string[]
  warning?: string
}

export const LOCK_COMMAND = 'drc registry lock'

function leaseText(lease: LeaseInfo): string {
  const what = `lease ${lease.namespace}/${lease.name}`
  switch (lease.state) {
    case 'dead-holder': {
      return `${what} is held by ${lease.holder}, whose process on this host is gone (renewed ${lease.renewTime ?? 'never'})`
    }

    case 'expired': {
      return `${what} was held by ${lease.holder} and expired at ${lease.expiresAt} (renewed ${lease.renewTime ?? 'never'})`
    }

    case 'free': {
      return `${what} is not held`
    }

    case 'live': {
      return `${what} is held by ${lease.holder} (renewed ${lease.renewTime ?? 'never'}, valid until ${lease.expiresAt ?? 'released'})`
    }

    case 'none': {
      return `there is no ${what}`
    }
  }
}

const recordText = (lease: LeaseInfo) =>
  lease.recorded
    ? `it recorded the prior setting ${describeEntry(lease.recorded.entry)}`
    : lease.unreadableNote === undefined
      ? 'no prior setting is recorded on it'
      : `its prior-setting note cannot be read (${lease.unreadableNote})`

/** The one reading of a {@link RegistryLockState}, shared by `drc health` and `drc registry status`. */
export function lockVerdict(state: RegistryLockState): LockVerdict {
  const sts = `StatefulSet ${state.namespace}/${state.statefulSet}`
  const setting = describeEntry(state.entry)
  const {lease} = state
  const rollout =
    state.podsUnlocked.length > 0
      ? `; the rollout is still running and pod(s) ${state.podsUnlocked.join(', ')} still run with deletion enabled`
      : ''
  if (!state.unlocked) {
    const stale = lease.state !== 'live' && lease.recorded ? `; ${leaseText(lease)} and ${recordText(lease)}` : ''
    const live = lease.state === 'live' ? `; a drc run holds the deletion lease (${leaseText(lease)})` : ''
    return {
      healthy: true,
      kind: 'locked',
      message: `Deletion is disabled on the registry (${sts}: ${setting}${state.rolledOut ? '' : ', rollout in progress'})${live}${stale}`,
      suggestions: [],
    }
  }

  const unlocked = `Deletion is UNLOCKED on the registry (${sts}: ${setting}${rollout})`
  if (lease.state === 'live') {
    const warning = `${unlocked} by a drc run in progress: ${leaseText(lease)}`
    return {
      healthy: true,
      kind: 'unlocked-by-live-run',
      message: `${warning}. Expected while it deletes; it re-locks when it ends. If that run is gone, this turns unhealthy once its lease expires`,
      suggestions: [`if that run is gone for good: ${LOCK_COMMAND} --force`],
      warning,
    }
  }

  const fix = `${LOCK_COMMAND} ${describeTarget(lockTarget(state.entry, lease.recorded))}, waits for the rollout and releases the lease`
  const crashed = lease.recorded !== undefined || (lease.state !== 'none' && lease.state !== 'free')
  const why = crashed
    ? `no drc run is in progress: ${leaseText(lease)}; ${recordText(lease)}. A run stopped without re-locking (killed, or its re-lock failed)`
    : `no drc lease explains it (${leaseText(lease)}): set by hand, or the lease and its record were deleted`
  return {
    healthy: false,
    kind: crashed ? 'unlocked-by-crashed-run' : 'unlocked-unexplained',
    message: `${unlocked}; ${why}`,
    suggestions: [fix],
  }
}
