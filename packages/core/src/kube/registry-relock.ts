import type {AppsV1Api, CoreV1Api, KubeConfig, V1EnvVar} from '@kubernetes/client-node'

import type {DrcConfig} from '../config/types.js'

import {DrcError, errorMessage, UsageError} from '../lib/errors.js'
import {ExitCode} from '../lib/exit-codes.js'
import {createKubeClients, describeKubeError, type KubeClients} from './client.js'
import {acquireLease, type HeldLease, holderProcessGone} from './lease.js'
import {LOCK_COMMAND, type LockVerdict, lockVerdict} from './lock-verdict.js'
import {detectRegistryLocation} from './registry-location.js'
import {
  DEFAULT_LEASE_NAME,
  describeEntry,
  manualRelockCommand,
  parsePriorNote,
  RelockError,
  setDeleteEnv,
  type Target,
  waitForRollout,
} from './registry-lock.js'
import {
  describeTarget,
  type LeaseInfo,
  lockTarget,
  type LockTargetSource,
  readRegistryLockState,
  type RegistryLockState,
} from './registry-state.js'

export interface LockRegistryOptions {
  clients?: {apps: AppsV1Api; core: CoreV1Api; kc: KubeConfig}
  /** Take over a lease that another run holds and renews (for a run known to be gone). */
  force?: boolean
  holder?: string
  leaseName?: string
  log?: (message: string) => void
  pollIntervalMs?: number
  rolloutTimeoutMs?: number
}

export interface LockRegistryResult {
  /** The env entry found on the template, and the one left there. */
  after: string
  before: string
  /** True when the template was patched. */
  changed: boolean
  container: string
  /** The lease as found before locking. */
  lease: LeaseInfo
  namespace: string
  source: LockTargetSource
  statefulSet: string
  /** One line: what was done. */
  summary: string
  /** The holder whose lease was taken over, if any. */
  tookOverFrom?: string
}

function refuseLive(lease: LeaseInfo): DrcError {
  return new DrcError(
    `a drc run holds the deletion lease ${lease.namespace}/${lease.name}: ${lease.holder} (renewed ${lease.renewTime ?? 'never'}, valid until ${lease.expiresAt ?? 'released'}); it re-locks the registry when it ends`,
    {
      exitCode: ExitCode.PREFLIGHT_REFUSED,
      suggestions: [
        'wait for that run to finish, then check with `drc registry status`',
        `if that run is gone for good (process killed, pod deleted): ${LOCK_COMMAND} --force takes its lease over and restores the prior setting it recorded`,
      ],
    },
  )
}

/** Writes `entry` (when it differs) and waits until every replica runs it; a failure names the manual fix. */
async function apply(target: Target, entry: undefined | V1EnvVar, opts: LockRegistryOptions): Promise<boolean> {
  const what = `StatefulSet ${target.namespace}/${target.name}`
  let patched: boolean
  try {
    patched = await setDeleteEnv(target, entry)
  } catch (error) {
    throw new RelockError(
      `LOCK FAILED: deletion may still be enabled on the registry (${what}): cannot write ${describeEntry(entry)}: ${error instanceof DrcError ? error.message : describeKubeError(error)}`,
      {
        cause: error,
        suggestions: [`set it by hand: ${manualRelockCommand(target, entry)}`, `or retry: ${LOCK_COMMAND}`],
      },
    )
  }

  if (patched) opts.log?.(`wrote ${describeEntry(entry)} to ${what}; waiting for the rollout`)
  else opts.log?.(`${what} already has ${describeEntry(entry)}; waiting for the rollout to finish`)
  try {
    await waitForRollout(target, {pollMs: opts.pollIntervalMs ?? 2000, timeoutMs: opts.rolloutTimeoutMs ?? 300_000})
  } catch (error) {
    throw new RelockError(
      `LOCK NOT CONFIRMED: ${describeEntry(entry)} is on ${what}, but the registry did not roll out (${errorMessage(error)}); until it does, deletion may still be enabled`,
      {
        cause: error,
        suggestions: [
          `check the rollout: kubectl -n ${target.namespace} rollout status statefulset/${target.name}`,
          `then run ${LOCK_COMMAND} again (the lease keeps the recorded prior setting)`,
        ],
      },
    )
  }

  return patched
}

/**
 * Locks deletion on the in-cluster registry after a run died unlocked (design.md invariant 5): takes the deletion
 * lease (refusing a live holder unless forced or its process is seen gone), writes the setting {@link lockTarget}
 * chooses (the prior value recorded on the lease, exactly), waits for the rollout, then clears the record and
 * releases the lease. On failure the record stays on the lease, so a retry restores the same value.
 * Already locked with no record: nothing is written, the lease is not even taken.
 */
export async function lockRegistry(
  config: Pick<DrcConfig, 'kubernetes'>,
  opts: LockRegistryOptions = {},
): Promise<LockRegistryResult> {
  const log = opts.log ?? (() => {})
  const clients = opts.clients ?? (await createKubeClients(config))
  const leaseName = opts.leaseName ?? DEFAULT_LEASE_NAME
  const state = await readRegistryLockState(config, clients, leaseName)
  const {lease} = state
  const base = {
    before: describeEntry(state.entry),
    container: state.container,
    lease,
    namespace: state.namespace,
    statefulSet: state.statefulSet,
  }
  if (lease.state === 'live' && !opts.force) throw refuseLive(lease)
  if (!state.unlocked && state.rolledOut && !lease.recorded && lease.state !== 'live') {
    const summary = `already locked: ${base.before} on StatefulSet ${state.namespace}/${state.statefulSet}; nothing changed`
    return {...base, after: base.before, changed: false, source: 'already-locked', summary}
  }

  const k8s = await import('@kubernetes/client-node')
  const held: HeldLease = await acquireLease({
    coordination: clients.kc.makeApiClient(k8s.CoordinationV1Api),
    holder: opts.holder,
    leaseDurationSeconds: 60,
    log,
    name: leaseName,
    namespace: state.namespace,
    // Decided on the lease as re-read at takeover: a run that took it meanwhile is refused, unless --force.
    takeOver: (fresh) => Boolean(opts.force) || holderProcessGone(fresh.spec?.holderIdentity ?? undefined),
  })
  let result: LockRegistryResult
  try {
    // The record as the lease held it when taken (another run may have changed it since the first read).
    const recorded = parsePriorNote(held.previousNote)
    const fresh = await readRegistryLockState(config, clients, leaseName)
    const target = lockTarget(fresh.entry, recorded)
    log(`locking: ${describeTarget(target)}`)
    const t: Target = {
      apps: clients.apps,
      container: fresh.container,
      name: fresh.statefulSet,
      namespace: fresh.namespace,
    }
    const changed =
      fresh.unlocked || !fresh.rolledOut || JSON.stringify(fresh.entry) !== JSON.stringify(target.entry)
        ? await apply(t, target.entry, opts)
        : false
    // Done: the record must not make a later run "restore" it again.
    await held.writeNote()
    const after = describeEntry(target.entry)
    const verb = changed ? `locked: ${base.before} → ${after}` : `already locked: ${after}`
    result = {
      ...base,
      after,
      changed,
      source: target.source,
      summary: `${verb} on StatefulSet ${fresh.namespace}/${fresh.statefulSet} (${describeTarget(target)}), rolled out; lease ${held.namespace}/${held.name} released`,
      ...(lease.holder && lease.holder !== held.holder ? {tookOverFrom: lease.holder} : {}),
    }
  } catch (error) {
    await held.release().catch((releaseError) => log(`WARNING: ${errorMessage(releaseError)}`))
    throw error
  }

  await held.release()
  return result
}

/** Kubernetes clients for a registry that runs in the cluster; an external registry is a usage error (exit 2). */
export async function inClusterRegistryClients(
  config: Pick<DrcConfig, 'kubernetes' | 'registry'>,
): Promise<KubeClients> {
  let clients: KubeClients | undefined
  const kube = async () => {
    clients ??= await createKubeClients(config)
    return clients
  }

  const location = await detectRegistryLocation(config, kube)
  if (!location.inCluster)
    throw new UsageError(`the registry is not running in the cluster (${location.reason}); drc has no lock to set`, [
      'set kubernetes.registry_in_cluster=true (DRC_REGISTRY_IN_CLUSTER) if it does run in the cluster',
      'check kubernetes.kubeconfig (KUBECONFIG) and kubernetes.registry_statefulset (DRC_REGISTRY_STATEFULSET)',
    ])
  return kube()
}

/** Read-only: the lock state of the in-cluster registry and its verdict (the same as `drc health`'s). */
export async function registryLockStatus(
  config: Pick<DrcConfig, 'kubernetes' | 'registry'>,
): Promise<{state: RegistryLockState; verdict: LockVerdict}> {
  const state = await readRegistryLockState(config, await inClusterRegistryClients(config))
  return {state, verdict: lockVerdict(state)}
}
