import type {CoordinationV1Api, V1EnvVar, V1Lease, V1StatefulSet} from '@kubernetes/client-node'

import type {DrcConfig} from '../config/types.js'
import type {KubeClients} from './client.js'

import {DrcError} from '../lib/errors.js'
import {describeKubeError, kubeStatusCode} from './client.js'
import {holderProcessGone, LEASE_NOTE, leaseExpiry} from './lease.js'
import {
  DEFAULT_LEASE_NAME,
  DELETE_ENV,
  describeEntry,
  firstContainer,
  kubeFailure,
  parsePriorNote,
  rolledOut,
} from './registry-lock.js'

/**
 * Whether an env entry leaves deletion disabled. The registry reads the variable as YAML, so only an absent
 * variable or one of YAML's false spellings is locked; "true", "yes", a valueFrom (unknown here) and anything
 * else count as unlocked. Absent defers to the registry's config file, which drc cannot see.
 */
export function deletionDisabled(entry: undefined | V1EnvVar): boolean {
  if (entry === undefined) return true
  return entry.valueFrom === undefined && /^(?:false|n|no|off)$/i.test(entry.value ?? '')
}

export type LeaseState = 'dead-holder' | 'expired' | 'free' | 'live' | 'none'

export interface LeaseInfo {
  /** When a held lease stops being valid (ISO), if it has an end. */
  expiresAt?: string
  holder?: string
  name: string
  namespace: string
  /** The prior setting a run recorded on the lease; undefined = no (readable) record. */
  recorded?: {entry: undefined | V1EnvVar}
  renewTime?: string
  /**
   * none: no Lease object; free: nobody holds it; live: a run holds it and renews it; expired: the holder stopped
   * renewing; dead-holder: the holder's process on this host is gone although the lease has not expired yet.
   */
  state: LeaseState
  /** Raw note when it exists but cannot be read. */
  unreadableNote?: string
}

export interface RegistryLockState {
  container: string
  /** The delete env entry of the pod template (undefined = absent). */
  entry: undefined | V1EnvVar
  lease: LeaseInfo
  namespace: string
  /** Pods that still run with deletion enabled while the rollout of a locked template is under way. */
  podsUnlocked: string[]
  /** The controller runs the current template on every replica. */
  rolledOut: boolean
  statefulSet: string
  /** Deletion is (or may still be) enabled: on the template, or on a pod the rollout has not replaced yet. */
  unlocked: boolean
}

const iso = (value: unknown): string | undefined =>
  value === undefined || value === null ? undefined : new Date(value as Date | string).toISOString()

/** What the lease says, read-only. A stale lease (free/expired/dead holder) with a record is a crashed run. */
export function describeLease(lease: undefined | V1Lease, ref: {name: string; namespace: string}): LeaseInfo {
  if (!lease) return {...ref, state: 'none'}
  const holder = lease.spec?.holderIdentity || undefined
  const note = lease.metadata?.annotations?.[LEASE_NOTE]
  const recorded = parsePriorNote(note)
  const expiry = leaseExpiry(lease)
  const renewed = iso(lease.spec?.renewTime ?? lease.spec?.acquireTime)
  const info: LeaseInfo = {...ref, state: leaseState(holder, expiry)}
  if (holder) info.holder = holder
  if (renewed) info.renewTime = renewed
  if (expiry !== undefined && Number.isFinite(expiry)) info.expiresAt = new Date(expiry).toISOString()
  if (recorded) info.recorded = recorded
  else if (note !== undefined) info.unreadableNote = note
  return info
}

function leaseState(holder: string | undefined, expiry: number | undefined): LeaseState {
  if (!holder || expiry === undefined) return 'free'
  if (expiry <= Date.now()) return 'expired'
  return holderProcessGone(holder) ? 'dead-holder' : 'live'
}

export async function readLease(
  coordination: CoordinationV1Api,
  ref: {name: string; namespace: string},
): Promise<undefined | V1Lease> {
  try {
    return await coordination.readNamespacedLease(ref)
  } catch (error) {
    if (kubeStatusCode(error) === 404) return undefined
    throw new DrcError(`cannot read lease ${ref.namespace}/${ref.name}: ${describeKubeError(error)}`, {
      cause: error,
      suggestions:
        kubeStatusCode(error) === 403
          ? [`grant drc's service account get on leases (coordination.k8s.io) in ${ref.namespace}`]
          : [],
    })
  }
}

/** Pods of the StatefulSet whose container still has deletion enabled (an old revision not yet replaced). */
async function unlockedPods(
  clients: Pick<KubeClients, 'core'>,
  sts: V1StatefulSet,
  namespace: string,
  container: string,
) {
  const labels = sts.spec?.selector?.matchLabels ?? {}
  const labelSelector = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',')
  const pods = await clients.core.listNamespacedPod({labelSelector, namespace})
  return pods.items
    .filter((pod) => {
      const c = pod.spec?.containers.find((x) => x.name === container)
      return c !== undefined && !deletionDisabled(c.env?.find((e) => e.name === DELETE_ENV))
    })
    .map((pod) => pod.metadata?.name ?? '?')
}

/**
 * Reads, without changing anything, whether deletion is unlocked on the in-cluster registry and what the deletion
 * lease says about it. Pods are only read while a rollout runs: then the template alone does not tell.
 */
export async function readRegistryLockState(
  config: Pick<DrcConfig, 'kubernetes'>,
  clients: Pick<KubeClients, 'apps' | 'core' | 'kc'>,
  leaseName = DEFAULT_LEASE_NAME,
): Promise<RegistryLockState> {
  const namespace = config.kubernetes.domino_platform_namespace
  const name = config.kubernetes.registry_statefulset
  const {CoordinationV1Api} = await import('@kubernetes/client-node')
  const ref = {name: leaseName, namespace}
  let sts: V1StatefulSet
  try {
    sts = await clients.apps.readNamespacedStatefulSet({name, namespace})
  } catch (error) {
    throw kubeFailure(`cannot read StatefulSet ${namespace}/${name}`, error, namespace)
  }

  const lease = await readLease(clients.kc.makeApiClient(CoordinationV1Api), ref)
  const {container, entry} = firstContainer(sts, namespace, name)
  const done = rolledOut(sts)
  let podsUnlocked: string[] = []
  if (deletionDisabled(entry) && !done) {
    try {
      podsUnlocked = await unlockedPods(clients, sts, namespace, container.name)
    } catch (error) {
      // Cannot see the pods: the old revision may still allow deletion, so say so rather than guess "locked".
      podsUnlocked = [`(pods cannot be read: ${describeKubeError(error)})`]
    }
  }

  return {
    container: container.name,
    entry,
    lease: describeLease(lease, ref),
    namespace,
    podsUnlocked,
    rolledOut: done,
    statefulSet: name,
    unlocked: !deletionDisabled(entry) || podsUnlocked.length > 0,
  }
}

export type LockTargetSource = 'already-locked' | 'recorded' | 'recorded-enabled' | 'unknown-prior'

export interface LockTarget {
  /** The entry to leave on the template (undefined = no variable). */
  entry: undefined | V1EnvVar
  source: LockTargetSource
}

const DISABLED: V1EnvVar = {name: DELETE_ENV, value: 'false'}

/**
 * What locking writes: the prior setting a crashed run recorded on the lease, exactly (absent stays absent); with
 * no record, the current setting if it is already locked, else "false" (explicit: removing the variable would
 * defer to the registry's config file, which may enable deletion). A recorded prior that itself enabled deletion
 * is not restored: locking means deletion disabled.
 */
export function lockTarget(current: undefined | V1EnvVar, recorded: LeaseInfo['recorded']): LockTarget {
  if (recorded)
    return deletionDisabled(recorded.entry)
      ? {entry: recorded.entry, source: 'recorded'}
      : {entry: DISABLED, source: 'recorded-enabled'}
  return deletionDisabled(current)
    ? {entry: current, source: 'already-locked'}
    : {entry: DISABLED, source: 'unknown-prior'}
}

/** How an operator reads a {@link LockTarget}. */
export function describeTarget(target: LockTarget): string {
  const entry = describeEntry(target.entry)
  switch (target.source) {
    case 'already-locked': {
      return `keeps ${entry}`
    }

    case 'recorded': {
      return `restores ${entry}, the prior setting recorded on the lease`
    }

    case 'recorded-enabled': {
      return `sets ${entry} (the prior setting recorded on the lease enabled deletion too)`
    }

    case 'unknown-prior': {
      return `sets ${entry} (no prior setting is recorded)`
    }
  }
}
