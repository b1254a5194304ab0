import type {BatchV1Api, CoreV1Api, V1EnvVar} from '@kubernetes/client-node'

import {randomBytes} from 'node:crypto'
import {setTimeout as sleep} from 'node:timers/promises'

import type {DrcConfig} from '../config/types.js'

import {DrcError, errorMessage} from '../lib/errors.js'
import {ExitCode} from '../lib/exit-codes.js'
import {createKubeClients, describeKubeError} from './client.js'
import {buildGcJob, type GcMeasurement, parseMeasurement, READONLY_ENV, READONLY_VALUE} from './gc-job.js'
import {acquireLease, type HeldLease} from './lease.js'
import {firstContainer, RelockError, setDeleteEnv, type Target, waitForRollout} from './registry-lock.js'
import {findWorkload} from './workload.js'

/** Its own lease: a GC that died read-only leaves its record here, and the next GC restores that. */
export const GC_LEASE_NAME = 'drc-registry-gc'

export interface RegistryGcOptions {
  /** Only when no index could lose its children (see gcSafety); otherwise untagged manifests stay. */
  deleteUntagged: boolean
  /** Seconds the Job may run. */
  jobTimeoutSeconds?: number
  leaseDurationSeconds?: number
  log?: (message: string) => void
  pollIntervalMs?: number
  rolloutTimeoutMs?: number
  /** Cancels the run (the read-only setting is still removed). Without it SIGINT/SIGTERM are handled here. */
  signal?: AbortSignal
}

export interface RegistryGcResult {
  delete_untagged: boolean
  job: string
  /** Blob bytes on the registry's storage before minus after, as the Job measured them; null when unmeasurable. */
  measured_freed_bytes: null | number
  measurement: GcMeasurement | null
  namespace: string
  /** The read-only setting was put back to what it was before (`REGISTRY_STORAGE_MAINTENANCE_READONLY`). */
  readonly: 'restored'
  workload: string
}

const describe = (e: undefined | V1EnvVar) =>
  e === undefined ? `${READONLY_ENV} absent` : `${READONLY_ENV}=${e.value}`

/** What to put back: the current entry, unless a GC that died read-only recorded the real prior one. */
function priorOf(current: undefined | V1EnvVar, note: string | undefined, log: (m: string) => void) {
  if (note) {
    try {
      const recorded = (JSON.parse(note) as {readonly_prior?: null | V1EnvVar}).readonly_prior
      if (recorded !== undefined) {
        log(`WARNING: a previous drc GC did not restore ${READONLY_ENV}; restoring ${describe(recorded ?? undefined)}`)
        return recorded ?? undefined
      }
    } catch {
      // An unreadable note is no record.
    }
  }

  return current && structuredClone(current)
}

/** Cancels `controller` on SIGINT/SIGTERM until the returned function is called. */
function abortOnSignals(controller: AbortController, log: (m: string) => void): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping garbage collection; the registry's read-only setting is being removed first`)
    controller.abort(new DrcError(`cancelled by ${signal}`, {exitCode: ExitCode.CANCELLED}))
  }

  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return () => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/**
 * `registry garbage-collect` on the in-cluster registry's storage, as a Job on its volume, with the registry
 * read-only for the duration: takes the GC lease, records the first container's prior read-only entry on it,
 * sets `{"enabled": true}` and waits for the rollout, runs the Job, then on every path (success, Job failure,
 * cancellation) stops the Job if it still runs and puts the prior entry back exactly, waits for the rollout,
 * clears the record and releases the lease.
 */
export async function runRegistryGc(
  config: Pick<DrcConfig, 'kubernetes'>,
  opts: RegistryGcOptions,
): Promise<RegistryGcResult> {
  const log = opts.log ?? (() => {})
  const controller = new AbortController()
  const stopSignals = opts.signal ? () => {} : abortOnSignals(controller, log)
  const signal = opts.signal ? AbortSignal.any([opts.signal, controller.signal]) : controller.signal
  const namespace = config.kubernetes.domino_platform_namespace
  const name = config.kubernetes.registry_statefulset
  const wait = {pollMs: opts.pollIntervalMs ?? 2000, timeoutMs: opts.rolloutTimeoutMs ?? 300_000}
  try {
    const [k8s, clients] = await Promise.all([import('@kubernetes/client-node'), createKubeClients(config)])
    const lease = await acquireLease({
      coordination: clients.kc.makeApiClient(k8s.CoordinationV1Api),
      leaseDurationSeconds: opts.leaseDurationSeconds ?? 60,
      log,
      name: GC_LEASE_NAME,
      namespace,
    })
    const ctx = {batch: clients.kc.makeApiClient(k8s.BatchV1Api), core: clients.core, lease, log, signal, wait}
    return await readOnlyWindow(config, {...ctx, apps: clients.apps, name, namespace}, opts)
  } finally {
    stopSignals()
  }
}

interface WindowContext {
  apps: Target['apps']
  batch: BatchV1Api
  core: CoreV1Api
  lease: HeldLease
  log: (m: string) => void
  name: string
  namespace: string
  signal: AbortSignal
  wait: {pollMs: number; timeoutMs: number}
}

async function readOnlyWindow(
  config: Pick<DrcConfig, 'kubernetes'>,
  c: WindowContext,
  opts: RegistryGcOptions,
): Promise<RegistryGcResult> {
  let target: Target
  let prior: undefined | V1EnvVar
  let workload: Awaited<ReturnType<typeof findWorkload>>
  try {
    workload = await findWorkload(c.apps, {name: c.name, namespace: c.namespace})
    const first = firstContainer(workload.workload, c.namespace, c.name, READONLY_ENV)
    target = {apps: c.apps, container: first.container.name, kind: workload.kind, name: c.name, namespace: c.namespace}
    prior = priorOf(first.entry, c.lease.previousNote, c.log)
    await c.lease.writeNote(JSON.stringify({readonly_prior: prior ?? null}))
  } catch (error) {
    await c.lease.release().catch(() => {})
    throw error instanceof DrcError ? error : new DrcError(`cannot read the registry: ${describeKubeError(error)}`)
  }

  const what = `${workload.kind} ${c.namespace}/${c.name}`
  const jobName = `drc-registry-gc-${randomBytes(4).toString('hex')}`
  let outcome: {error: unknown} | {value: RegistryGcResult}
  let jobCreated = false
  try {
    await setDeleteEnv(target, {name: READONLY_ENV, value: READONLY_VALUE}, READONLY_ENV)
    c.log(`registry read-only: ${READONLY_ENV}=${READONLY_VALUE} on ${what}; waiting for the rollout`)
    await waitForRollout(target, c.wait, c.signal)
    c.signal.throwIfAborted()
    const job = buildGcJob(workload.workload, {
      configPath: config.kubernetes.registry_config_path,
      deleteUntagged: opts.deleteUntagged,
      jobName,
      kind: workload.kind,
      name: c.name,
      namespace: c.namespace,
      timeoutSeconds: opts.jobTimeoutSeconds ?? 3600,
    })
    await c.batch.createNamespacedJob({body: job, namespace: c.namespace})
    jobCreated = true
    c.log(`garbage collection: Job ${c.namespace}/${jobName}${opts.deleteUntagged ? ' (--delete-untagged)' : ''}`)
    const measurement = await awaitJob(c, jobName, () => {
      jobCreated = false // finished (either way): nothing left to stop, the Job stays for its logs
    })
    const freed =
      measurement?.blob_bytes_before === null || measurement?.blob_bytes_after === null || !measurement
        ? null
        : measurement.blob_bytes_before - measurement.blob_bytes_after
    outcome = {
      value: {
        delete_untagged: opts.deleteUntagged,
        job: jobName,
        measured_freed_bytes: freed,
        measurement: measurement ?? null,
        namespace: c.namespace,
        readonly: 'restored',
        workload: what,
      },
    }
  } catch (error) {
    outcome = {error: c.signal.aborted ? c.signal.reason : error}
  }

  // A collection still running must stop before pushes are allowed again (it would sweep their blobs).
  if (jobCreated) await stopJob(c, jobName)
  await restoreReadOnly(c, target, prior, what)
  if ('error' in outcome) throw outcome.error
  return outcome.value
}

/** Waits for the Job to finish; resolves with its measurement, throws when it failed (with that measurement). */
async function awaitJob(c: WindowContext, jobName: string, finished: () => void): Promise<GcMeasurement | undefined> {
  for (;;) {
    c.signal.throwIfAborted()
    // eslint-disable-next-line no-await-in-loop -- polling
    const job = await c.batch.readNamespacedJob({name: jobName, namespace: c.namespace})
    const done = (job.status?.conditions ?? []).find(
      (x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True',
    )
    if (done) {
      finished()
      // eslint-disable-next-line no-await-in-loop
      const pods = await c.core.listNamespacedPod({labelSelector: `job-name=${jobName}`, namespace: c.namespace})
      const terminated = pods.items[0]?.status?.containerStatuses?.[0]?.state?.terminated
      const measurement = parseMeasurement(terminated?.message)
      if (done.type === 'Complete') return measurement
      throw new DrcError(
        `registry garbage collection failed: Job ${c.namespace}/${jobName}: ${done.reason ?? ''} ${done.message ?? ''} (exit code ${terminated?.exitCode ?? 'unknown'})`.trim(),
        {suggestions: [`read its output: kubectl -n ${c.namespace} logs job/${jobName}`]},
      )
    }

    // eslint-disable-next-line no-await-in-loop
    await sleep(Math.min(c.wait.pollMs, 1000), undefined, {signal: c.signal}).catch(() => {})
  }
}

/**
 * Deletes the Job, then its pod (explicitly: not left to the garbage collector's timing), and waits up to a minute
 * until the pod is gone, so no collection still runs once writes resume.
 */
async function stopJob(c: WindowContext, jobName: string): Promise<void> {
  try {
    await c.batch.deleteNamespacedJob({name: jobName, namespace: c.namespace, propagationPolicy: 'Background'})
    await c.core.deleteCollectionNamespacedPod({labelSelector: `job-name=${jobName}`, namespace: c.namespace})
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline) {
      // eslint-disable-next-line no-await-in-loop
      const pods = await c.core.listNamespacedPod({labelSelector: `job-name=${jobName}`, namespace: c.namespace})
      if (pods.items.length === 0) return
      // eslint-disable-next-line no-await-in-loop
      await sleep(250)
    }

    c.log(`WARNING: the pod of Job ${c.namespace}/${jobName} still exists after 60 s`)
  } catch (error) {
    c.log(`WARNING: cannot stop Job ${c.namespace}/${jobName}: ${errorMessage(error)}`)
  }
}

async function restoreReadOnly(
  c: WindowContext,
  target: Target,
  prior: undefined | V1EnvVar,
  what: string,
): Promise<void> {
  const manual = `kubectl -n ${c.namespace} set env ${target.kind!.toLowerCase()}/${c.name} -c ${target.container} ${prior === undefined ? `${READONLY_ENV}-` : `${READONLY_ENV}='${prior.value}'`}`
  try {
    await setDeleteEnv(target, prior, READONLY_ENV)
    await waitForRollout(target, c.wait)
    c.log(`registry writable again: ${describe(prior)} on ${what}`)
    await c.lease.writeNote()
  } catch (error) {
    // The record stays on the lease: the next `drc registry gc` restores it.
    throw new RelockError(
      `READ-ONLY NOT REMOVED: ${what} may still refuse pushes: cannot restore ${describe(prior)}: ${errorMessage(error)}`,
      {cause: error, suggestions: [`restore it by hand: ${manual}`, 'or run `drc registry gc` again']},
    )
  } finally {
    await c.lease.release().catch((error) => c.log(`WARNING: ${errorMessage(error)}`))
  }
}
