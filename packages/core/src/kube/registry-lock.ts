import type {AppsV1Api, KubeConfig, V1EnvVar} from '@kubernetes/client-node'

import {setTimeout as sleep} from 'node:timers/promises'

import type {DrcConfig} from '../config/types.js'

import {DrcError, errorMessage} from '../lib/errors.js'
import {ExitCode} from '../lib/exit-codes.js'
import {createKubeClients, describeKubeError, kubeStatusCode} from './client.js'
import {acquireLease, type HeldLease, LEASE_NOTE} from './lease.js'
import {findWorkload, patchWorkload, readWorkload, type Workload, type WorkloadKind} from './workload.js'

/** The registry's switch for DELETE (Docker Distribution's storage.delete.enabled as an env override). */
export const DELETE_ENV = 'REGISTRY_STORAGE_DELETE_ENABLED'
export const DEFAULT_LEASE_NAME = 'drc-registry-deletion'

export interface DeletionUnlockOptions {
  /** Kubernetes clients (default: built from the configuration). */
  clients?: {apps: AppsV1Api; kc: KubeConfig}
  /** Lease holder identity (default host/pid/random). */
  holder?: string
  leaseDurationSeconds?: number
  leaseName?: string
  log?: (message: string) => void
  /** Poll interval of the rollout wait. */
  pollIntervalMs?: number
  renewIntervalMs?: number
  /** How long a rollout may take (domain-spec §2.4: 300 s). */
  rolloutTimeoutMs?: number
  /** Aborts a rollout wait (a cancelled run still restores the prior value). */
  signal?: AbortSignal
}

export interface DeletionUnlockHandle {
  /** False when the prior setting was already "true": relock() then restores nothing (it still releases the lease). */
  readonly changed: boolean
  readonly container: string
  readonly lease: HeldLease
  readonly namespace: string
  /** The env entry as it was before unlocking; undefined when the variable was absent. */
  readonly prior: undefined | V1EnvVar
  /**
   * Restores the prior env entry exactly, waits for the rollout, releases the lease. Concurrent and repeated calls
   * share one successful re-lock; after a failure the next call tries again.
   */
  relock(): Promise<void>
  readonly statefulSet: string
}

/** The registry may still be unlocked: the operator must act (the message and suggestions say how). */
export class RelockError extends DrcError {
  constructor(message: string, opts: {cause?: unknown; suggestions?: string[]} = {}) {
    super(message, opts)
    this.name = 'RelockError'
  }
}

/** `kind` defaults to StatefulSet (Domino's); a Deployment registry is found when no StatefulSet has the name. */
export type Target = {apps: AppsV1Api; container: string; kind?: WorkloadKind; name: string; namespace: string}

const kindOf = (t: Pick<Target, 'kind'>): WorkloadKind => t.kind ?? 'StatefulSet'
/** `StatefulSet ns/name` or `Deployment ns/name`, as the messages name the registry. */
export const describeWorkload = (t: Pick<Target, 'kind' | 'name' | 'namespace'>) =>
  `${kindOf(t)} ${t.namespace}/${t.name}`

const envPath = (index: number) => `/spec/template/spec/containers/0/env/${index}`

/** What an operator runs by hand to put the prior value back. */
export function manualRelockCommand(t: Omit<Target, 'apps'>, prior: undefined | V1EnvVar): string {
  const value = prior === undefined ? `${DELETE_ENV}-` : `${DELETE_ENV}=${prior.value ?? ''}`
  return `kubectl -n ${t.namespace} set env ${kindOf(t).toLowerCase()}/${t.name} -c ${t.container} ${value}`
}

export function firstContainer(sts: Workload, namespace: string, name: string, envName = DELETE_ENV) {
  const container = sts.spec?.template.spec?.containers?.[0]
  if (!container) throw new DrcError(`${sts.kind ?? 'StatefulSet'} ${namespace}/${name} has no containers`)
  const env = container.env ?? []
  const index = env.findIndex((e) => e.name === envName)
  return {container, entry: index === -1 ? undefined : env[index], hasEnv: container.env !== undefined, index}
}

/**
 * Sets the delete env var of the first container to `desired` (undefined removes it) with a JSON patch whose
 * `test` ops pin the container name and the entry's position: if someone reordered the pod template between our
 * read and our write, the API refuses (422) instead of us overwriting the wrong entry. Returns whether it patched.
 */
export async function setDeleteEnv(t: Target, desired: undefined | V1EnvVar, envName = DELETE_ENV): Promise<boolean> {
  const {PatchStrategy, setHeaderOptions} = await import('@kubernetes/client-node')
  const sts = await readWorkload(t.apps, kindOf(t), {name: t.name, namespace: t.namespace})
  const {container, entry, hasEnv, index} = firstContainer(sts, t.namespace, t.name, envName)
  if (container.name !== t.container)
    throw new DrcError(`the first container of ${describeWorkload(t)} is now ${container.name}, not ${t.container}`)
  if (JSON.stringify(entry) === JSON.stringify(desired)) return false
  const ops: object[] = [{op: 'test', path: '/spec/template/spec/containers/0/name', value: t.container}]
  if (entry) ops.push({op: 'test', path: `${envPath(index)}/name`, value: envName})
  if (desired === undefined) ops.push({op: 'remove', path: envPath(index)})
  else if (entry) ops.push({op: 'replace', path: envPath(index), value: desired})
  else if (hasEnv) ops.push({op: 'add', path: '/spec/template/spec/containers/0/env/-', value: desired})
  else ops.push({op: 'add', path: '/spec/template/spec/containers/0/env', value: [desired]})
  await patchWorkload(
    t.apps,
    kindOf(t),
    {body: ops, name: t.name, namespace: t.namespace},
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  )
  return true
}

/** Rolled out: the controller saw the latest spec and every replica runs it and is ready. */
export function rolledOut(sts: Workload): boolean {
  // A Deployment's status has no revisions: its old pods are gone when status.replicas equals spec.replicas.
  const s = sts.status as
    (NonNullable<Workload['status']> & {currentRevision?: string; updateRevision?: string}) | undefined
  const replicas = sts.spec?.replicas ?? 1
  if (!s || s.observedGeneration === undefined) return false
  return (
    s.observedGeneration >= (sts.metadata?.generation ?? 0) &&
    (s.updatedReplicas ?? 0) === replicas &&
    (s.readyReplicas ?? 0) === replicas &&
    s.replicas === replicas &&
    (s.currentRevision === undefined || s.updateRevision === undefined || s.currentRevision === s.updateRevision)
  )
}

export interface RolloutWait {
  pollMs: number
  timeoutMs: number
}

export async function waitForRollout(t: Target, {pollMs, timeoutMs}: RolloutWait, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = 'not read yet'
  for (;;) {
    if (signal?.aborted) throw new DrcError(`stopped waiting for ${describeWorkload(t)}: cancelled`)
    try {
      // eslint-disable-next-line no-await-in-loop -- polling
      const sts = await readWorkload(t.apps, kindOf(t), {name: t.name, namespace: t.namespace})
      if (rolledOut(sts)) return
      const s = sts.status
      last = `generation ${sts.metadata?.generation}, observed ${s?.observedGeneration}, replicas ${s?.replicas}, updated ${s?.updatedReplicas ?? 0}, ready ${s?.readyReplicas ?? 0}`
    } catch (error) {
      last = `cannot read it: ${describeKubeError(error)}`
    }

    if (Date.now() >= deadline)
      throw new DrcError(`${describeWorkload(t)} did not roll out within ${Math.round(timeoutMs / 1000)} s (${last})`, {
        suggestions: [
          `check the registry pod: kubectl -n ${t.namespace} describe pod -l app.kubernetes.io/name=${t.name}`,
        ],
      })
    // eslint-disable-next-line no-await-in-loop
    await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())), undefined, {signal}).catch(() => {})
  }
}

/**
 * Unlocks deletion on the in-cluster registry (design.md invariant 5): takes the deletion lease, records the
 * first container's REGISTRY_STORAGE_DELETE_ENABLED entry, sets it to "true" and waits for the rollout.
 * If it was already "true" nothing is patched. The prior entry is also written to the lease (annotation
 * {@link LEASE_NOTE}) before anything changes: a run that dies unlocked leaves it there, and the next run restores
 * that value rather than the "true" it finds. On any failure after the lease is taken the prior value is put
 * back (best effort) and the lease released before the error is thrown. Whether DELETE really works is the
 * caller's check.
 */
export async function acquireDeletionUnlock(
  config: Pick<DrcConfig, 'kubernetes'>,
  opts: DeletionUnlockOptions = {},
): Promise<DeletionUnlockHandle> {
  const namespace = config.kubernetes.domino_platform_namespace
  const name = config.kubernetes.registry_statefulset
  const log = opts.log ?? (() => {})
  const wait = {pollMs: opts.pollIntervalMs ?? 2000, timeoutMs: opts.rolloutTimeoutMs ?? 300_000}
  const [k8s, clients] = await Promise.all([
    import('@kubernetes/client-node'),
    opts.clients ?? createKubeClients(config),
  ])
  const lease = await acquireLease({
    coordination: clients.kc.makeApiClient(k8s.CoordinationV1Api),
    holder: opts.holder,
    leaseDurationSeconds: opts.leaseDurationSeconds ?? 60,
    log,
    name: opts.leaseName ?? DEFAULT_LEASE_NAME,
    namespace,
    renewIntervalMs: opts.renewIntervalMs,
  })

  let what = `StatefulSet ${namespace}/${name}`
  let target: Target
  let current: undefined | V1EnvVar
  let prior: undefined | V1EnvVar
  try {
    const {kind, workload: sts} = await findWorkload(clients.apps, {name, namespace})
    what = `${kind} ${namespace}/${name}`
    const first = firstContainer(sts, namespace, name)
    target = {apps: clients.apps, container: first.container.name, kind, name, namespace}
    current = first.entry
    prior = priorSetting(current, lease.previousNote, what, log)
    // Recorded before anything changes: if this run dies unlocked, the next one restores the real prior value
    // instead of taking "true" for it.
    await lease.writeNote(JSON.stringify({prior: prior ?? null}))
  } catch (error) {
    await lease.release().catch((releaseError) => log(`WARNING: ${errorMessage(releaseError)}`))
    if (error instanceof DrcError) throw error
    throw kubeFailure(`cannot read ${what}`, error, namespace)
  }

  const changed = !isTrue(prior)
  if (isTrue(current)) {
    log(`deletion is already enabled on ${what}; leaving it as it is`)
  } else {
    let patched = false
    try {
      patched = await setDeleteEnv(target, {name: DELETE_ENV, value: 'true'})
      log(`unlocked deletion: ${DELETE_ENV}=true on ${what}; waiting for the rollout`)
      await waitForRollout(target, wait, opts.signal)
    } catch (error) {
      const cause =
        error instanceof DrcError ? error : kubeFailure(`cannot unlock deletion on ${what}`, error, namespace)
      // The patch may have landed even when the call failed (a timeout): put the prior value back before giving up.
      const problems: string[] = []
      let unrestored: RelockError | undefined
      if (patched || kubeStatusCode(error) === undefined) {
        try {
          await restorePrior(target, prior, wait)
        } catch (restoreError) {
          unrestored = restoreError as RelockError
        }

        problems.push(unrestored ? unrestored.message : `${DELETE_ENV} was set back to its prior value`)
      }

      // Nothing left to undo: the next holder must not "restore" this run's record.
      if (!unrestored) await lease.writeNote().catch(() => {})

      await lease.release().catch((releaseError) => problems.push(errorMessage(releaseError)))
      const message = [cause.message, ...problems].join('; ')
      if (unrestored)
        throw new RelockError(message, {cause, suggestions: [...unrestored.suggestions, ...cause.suggestions]})
      throw new DrcError(message, {cause, suggestions: cause.suggestions})
    }
  }

  let relocking: Promise<void> | undefined
  return {
    changed,
    container: target.container,
    lease,
    namespace,
    prior,
    relock() {
      // A failed re-lock may be retried; a successful or running one is shared.
      relocking ??= relockNow({changed, lease, log, prior, target, wait}).catch((error) => {
        relocking = undefined
        throw error
      })
      return relocking
    },
    statefulSet: name,
  }
}

const isTrue = (entry: undefined | V1EnvVar) => entry?.value === 'true' && entry.valueFrom === undefined

/**
 * The prior setting a run recorded on the lease ({@link LEASE_NOTE}): `{entry}` (entry undefined = the variable was
 * absent), or undefined when there is no note or it cannot be read.
 */
export function parsePriorNote(note: string | undefined): undefined | {entry: undefined | V1EnvVar} {
  if (note === undefined) return undefined
  try {
    const recorded = (JSON.parse(note) as {prior?: null | V1EnvVar}).prior
    if (recorded === null) return {entry: undefined}
    if (typeof recorded === 'object' && recorded?.name === DELETE_ENV) return {entry: recorded}
  } catch {
    // An unreadable note is no record.
  }

  return undefined
}

/** The setting to restore: the current one, unless a previous run left its own prior record behind on the lease. */
function priorSetting(
  current: undefined | V1EnvVar,
  note: string | undefined,
  what: string,
  log: (message: string) => void,
): undefined | V1EnvVar {
  if (note === undefined) return current && structuredClone(current)
  const recorded = parsePriorNote(note)
  if (recorded) {
    log(
      `WARNING: a previous drc run did not re-lock ${what}; the setting it recorded (${describeEntry(recorded.entry)}) will be restored`,
    )
    return recorded.entry
  }

  // An unreadable note is ignored: the current setting is the best evidence left.
  log(`WARNING: ignoring an unreadable prior-setting note on the deletion lease: ${note}`)
  return current && structuredClone(current)
}

export const describeEntry = (entry: undefined | V1EnvVar) =>
  entry === undefined ? `${DELETE_ENV} absent` : `${DELETE_ENV}=${entry.value ?? '(valueFrom)'}`

/** Writes the prior entry back and waits for the rollout; the error says which of the two failed. */
async function restorePrior(target: Target, prior: undefined | V1EnvVar, wait: RolloutWait): Promise<void> {
  const what = describeWorkload(target)
  let patched: boolean
  try {
    patched = await setDeleteEnv(target, prior)
  } catch (error) {
    const reason = error instanceof DrcError ? error.message : describeKubeError(error)
    throw new RelockError(
      `RE-LOCK FAILED: deletion may still be enabled on the registry (${what}): cannot restore ${describeEntry(prior)}: ${reason}`,
      {cause: error, suggestions: [`restore the prior setting by hand: ${manualRelockCommand(target, prior)}`]},
    )
  }

  if (!patched) return
  try {
    await waitForRollout(target, wait)
  } catch (error) {
    throw new RelockError(
      `RE-LOCK NOT CONFIRMED: ${describeEntry(prior)} was written back to ${what}, but the registry did not roll out (${errorMessage(error)}); until it does, deletion may still be enabled`,
      {
        cause: error,
        suggestions: [
          `check the rollout: kubectl -n ${target.namespace} rollout status ${kindOf(target).toLowerCase()}/${target.name}`,
          `if the setting is wrong, restore it by hand: ${manualRelockCommand(target, prior)}`,
        ],
      },
    )
  }
}

export function kubeFailure(message: string, error: unknown, namespace: string): DrcError {
  const status = kubeStatusCode(error)
  return new DrcError(`${message}: ${describeKubeError(error)}`, {
    cause: error,
    suggestions:
      status === 403
        ? [`grant drc's service account get and patch on statefulsets (apps) in namespace ${namespace}`]
        : [],
  })
}

async function relockNow({
  changed,
  lease,
  log,
  prior,
  target,
  wait,
}: {
  changed: boolean
  lease: HeldLease
  log: (message: string) => void
  prior: undefined | V1EnvVar
  target: Target
  wait: RolloutWait
}): Promise<void> {
  let failure: DrcError | undefined
  try {
    if (changed) await restorePrior(target, prior, wait)
    log(`re-locked deletion: ${describeEntry(prior)} on ${describeWorkload(target)}`)
    // Done: the next holder must not "restore" this run's record.
    await lease.writeNote()
  } catch (error) {
    failure =
      error instanceof DrcError ? error : new DrcError(`cannot clear the deletion lease note: ${errorMessage(error)}`)
  }

  // Released even on failure (the note stays, so the next run restores the real prior setting).
  try {
    await lease.release()
  } catch (error) {
    if (!failure) throw error
    log(`WARNING: ${errorMessage(error)}`)
  }

  if (failure) throw failure
}

export interface UnlockedContext {
  handle: DeletionUnlockHandle
  /** Aborted on SIGINT/SIGTERM: stop issuing deletes, the registry is being re-locked. */
  signal: AbortSignal
}

export interface WithDeletionUnlockedOptions extends Omit<DeletionUnlockOptions, 'signal'> {
  /** How the process ends after a signal (default process.exit); tests replace it. */
  exit?: (code: number) => void
  /** Where loud messages go (default stderr). */
  report?: (message: string) => void
}

/**
 * Runs fn while deletion is unlocked and re-locks on every path: after fn, when fn throws, and on SIGINT/SIGTERM
 * (handlers are installed for the duration; after re-locking the process exits with 130, or 1 when re-locking
 * failed). A re-lock failure wins over fn's result and names the command to run by hand.
 */
export async function withDeletionUnlocked<T>(
  config: Pick<DrcConfig, 'kubernetes'>,
  fn: (ctx: UnlockedContext) => Promise<T>,
  opts: WithDeletionUnlockedOptions = {},
): Promise<T> {
  const report = opts.report ?? ((message: string) => process.stderr.write(`${message}\n`))
  const exit = opts.exit ?? ((code: number) => process.exit(code))
  const controller = new AbortController()
  let acquiring: Promise<DeletionUnlockHandle> | undefined
  let cancelling: Promise<void> | undefined

  const onSignal = (signal: NodeJS.Signals) => {
    if (cancelling) {
      report(`${signal} again: still re-locking the registry, please wait`)
      return
    }

    report(`${signal}: cancelling, re-locking the registry first`)
    controller.abort(new DrcError(`cancelled by ${signal}`, {exitCode: ExitCode.CANCELLED}))
    cancelling = (async () => {
      let code: number = ExitCode.CANCELLED
      try {
        const handle = await acquiring?.catch((error: unknown) => {
          // Cancelled while unlocking: acquire has already restored what it could; say how that went.
          if (error instanceof RelockError) {
            report(describeRelockFailure(error))
            code = ExitCode.FAILURE
          } else {
            report(`unlock stopped: ${errorMessage(error)}`)
          }
        })
        await handle?.relock()
      } catch (error) {
        report(describeRelockFailure(error))
        code = ExitCode.FAILURE
      }

      exit(code)
    })()
  }

  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  let handle: DeletionUnlockHandle | undefined
  let outcome: {error: unknown} | {value: T}
  try {
    acquiring = acquireDeletionUnlock(config, {...opts, signal: controller.signal})
    handle = await acquiring
    outcome = {value: await fn({handle, signal: controller.signal})}
  } catch (error) {
    outcome = {error}
  }

  try {
    if (cancelling) {
      await cancelling
    } else if (handle) {
      try {
        await handle.relock()
      } catch (error) {
        report(describeRelockFailure(error))
        if ('error' in outcome && error instanceof DrcError)
          throw new DrcError(`${error.message} (after: ${errorMessage(outcome.error)})`, {
            cause: error,
            suggestions: error.suggestions,
          })
        throw error
      }
    }
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }

  if ('error' in outcome) throw outcome.error
  return outcome.value
}

function describeRelockFailure(error: unknown): string {
  const suggestions = error instanceof DrcError ? error.suggestions.map((s) => `\n  ${s}`).join('') : ''
  return `ERROR: ${errorMessage(error)}${suggestions}`
}
