/**
 * The node of the test cluster. No kubelet (or scheduler) exists here, so this stands in for both, and only for
 * what the tests need: it registers a Ready Node, binds the Pending pods of one namespace to it (pods/binding),
 * runs the REAL registry process for the registry's pods (restarted with the env of the pod's container, same port
 * and data dir), reports pods Running/Ready through the status subresource, and finishes graceful deletions.
 * Pods that are not a registry's are simply reported Ready; a GC Job's pod runs `registry garbage-collect`.
 * The real StatefulSet/Deployment/Job controllers compute everything else (readyReplicas, revisions, completion).
 */
import type {RegistryHandle} from './registry.js'

import {kube, kubeCall, type KubeEndpoint, kubeWatch} from './kube-rest.js'

/** Pod label naming the registry (a key of `registries`) whose process the pod runs. */
export const REGISTRY_LABEL = 'drc.test/registry'
/** Pod label of a garbage-collection Job's pod (the one drc's Job sets): the registry whose storage it collects. */
export const GC_LABEL = 'drc.dominodatalab.com/registry-gc'
export const NODE_NAME = 'drc-sim-node'

export interface NodeSimOptions {
  endpoint: KubeEndpoint
  namespace: string
  /** The registries pods may run, by the value of their REGISTRY_LABEL / GC_LABEL. */
  registries: Map<string, RegistryHandle>
}

export interface NodeSim {
  /**
   * GC pods: 'run' (default) runs garbage-collect; 'fail' reports the container failed (exit 1) without running it;
   * 'hold' leaves them Running until the mode changes (a long collection, to interrupt).
   */
  gcMode(mode: 'fail' | 'hold' | 'run'): void
  /**
   * While on, newly started registry pods report Running but not Ready (a registry that never passes its readiness
   * probe). Turning it off makes them Ready, like a slow pod that finally passes.
   */
  holdReady(on: boolean): void
  /** Resolves once the simulator has nothing left to do (every pod bound, started, reported, deletions done). */
  settle(): Promise<void>
  /** Completed registry (re)starts for pods, by registry key. */
  starts: Map<string, number>
  stop(): Promise<void>
}

/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects are free-form JSON here */
type Pod = Record<string, any>

function containerEnv(pod: Pod): Record<string, string> {
  const env: Record<string, string> = {}
  for (const entry of pod.spec?.containers?.[0]?.env ?? [])
    if (typeof entry.value === 'string') env[entry.name] = entry.value
  return env
}

export async function ensureNode(endpoint: KubeEndpoint): Promise<void> {
  const now = new Date().toISOString()
  const node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {labels: {'kubernetes.io/hostname': NODE_NAME}, name: NODE_NAME},
  }
  await kubeCall(endpoint, {allow: [409], body: node, method: 'POST', path: '/api/v1/nodes'})
  const ready = {
    lastHeartbeatTime: now,
    lastTransitionTime: now,
    message: 'simulated',
    reason: 'DrcTestNode',
    status: 'True',
    type: 'Ready',
  }
  await kubeCall(endpoint, {
    body: {status: {addresses: [{address: '127.0.0.1', type: 'InternalIP'}], conditions: [ready]}},
    contentType: 'application/merge-patch+json',
    method: 'PATCH',
    path: `/api/v1/nodes/${NODE_NAME}/status`,
  })
}

function podStatus(
  pod: Pod,
  phase: 'Failed' | 'Running' | 'Succeeded',
  ready: boolean,
  message?: string,
): Record<string, unknown> {
  const now = new Date().toISOString()
  const flag = ready ? 'True' : 'False'
  const cond = (type: string, status: string) => ({lastProbeTime: null, lastTransitionTime: now, status, type})
  const name = pod.spec?.containers?.[0]?.name ?? 'main'
  const state =
    phase === 'Running'
      ? {running: {startedAt: now}}
      : {
          terminated: {
            exitCode: phase === 'Succeeded' ? 0 : 1,
            finishedAt: now,
            reason: phase === 'Succeeded' ? 'Completed' : 'Error',
            ...(message === undefined ? {} : {message}),
          },
        }
  return {
    status: {
      conditions: [
        cond('PodScheduled', 'True'),
        cond('Initialized', 'True'),
        cond('ContainersReady', flag),
        cond('Ready', flag),
      ],
      containerStatuses: [
        {
          image: pod.spec?.containers?.[0]?.image ?? '',
          imageID: '',
          name,
          ready,
          restartCount: 0,
          started: phase === 'Running',
          state,
        },
      ],
      hostIP: '127.0.0.1',
      phase,
      podIP: '127.0.0.1',
      startTime: pod.status?.startTime ?? now,
    },
  }
}

export function startNodeSim(options: NodeSimOptions): NodeSim {
  const {endpoint, namespace, registries} = options
  const podsPath = `/api/v1/namespaces/${namespace}/pods`
  /** uid of the pod whose container is the registry's process now, by registry key. */
  const owner = new Map<string, string>()
  /** Pods already reported (uid → phase written). */
  const reported = new Map<string, string>()
  const starts = new Map<string, number>()
  let stopped = false
  let running: Promise<void> | undefined
  let again = false
  let idle = false
  let hold = false
  let gc: 'fail' | 'hold' | 'run' = 'run'

  async function setStatus(
    pod: Pod,
    phase: 'Failed' | 'Running' | 'Succeeded',
    ready: boolean,
    message?: string,
  ): Promise<void> {
    await kubeCall(endpoint, {
      allow: [404, 409],
      body: podStatus(pod, phase, ready, message),
      contentType: 'application/merge-patch+json',
      method: 'PATCH',
      path: `${podsPath}/${pod.metadata.name}/status`,
    })
    reported.set(pod.metadata.uid, phase)
  }

  /** The kubelet's half of a graceful deletion: stop the container, then remove the pod for good. */
  async function finishDeletion(pod: Pod, regKey: string | undefined): Promise<void> {
    const {name, uid} = pod.metadata
    if (regKey && owner.get(regKey) === uid) {
      await registries.get(regKey)?.stop({keepData: true})
      owner.delete(regKey)
    }

    await kubeCall(endpoint, {
      allow: [404, 409],
      body: {gracePeriodSeconds: 0, preconditions: {uid}},
      method: 'DELETE',
      path: `${podsPath}/${name}`,
    })
    reported.delete(uid)
  }

  async function handle(pod: Pod): Promise<void> {
    const {name, uid} = pod.metadata
    const labels = pod.metadata.labels ?? {}
    const regKey: string | undefined = labels[REGISTRY_LABEL]
    if (pod.metadata.deletionTimestamp) {
      await finishDeletion(pod, regKey)
      return
    }

    if (!pod.spec.nodeName) {
      const binding = {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: {name},
        target: {apiVersion: 'v1', kind: 'Node', name: NODE_NAME},
      }
      await kubeCall(endpoint, {allow: [409], body: binding, method: 'POST', path: `${podsPath}/${name}/binding`})
      return
    }

    if (reported.get(uid) === 'held' && !hold) {
      await setStatus(pod, 'Running', true)
      return
    }

    const gcKey: string | undefined = labels[GC_LABEL]
    if (reported.get(uid) === 'gc-held' && gc !== 'hold') reported.delete(uid)
    if (reported.has(uid) || ['Failed', 'Succeeded'].includes(pod.status?.phase)) return
    if (gcKey) {
      await runGc(pod, registries.get(gcKey))
      return
    }

    const registry = regKey ? registries.get(regKey) : undefined
    if (registry) {
      // One process per registry (its port and data dir): the newest pod's container is the one that runs.
      await registry.restart(containerEnv(pod))
      owner.set(regKey!, uid)
      starts.set(regKey!, (starts.get(regKey!) ?? 0) + 1)
    }

    if (registry && hold) {
      await setStatus(pod, 'Running', false)
      reported.set(uid, 'held')
      return
    }

    await setStatus(pod, 'Running', true)
  }

  /**
   * What the Job's container does (drc's gc-job.ts script): blob bytes of the storage before and after
   * garbage-collect, as JSON in the termination message. The simulator measures the registry's real data dir.
   */
  async function runGc(pod: Pod, registry: RegistryHandle | undefined): Promise<void> {
    if (gc === 'hold') {
      if (!reported.has(pod.metadata.uid)) await setStatus(pod, 'Running', true)
      reported.set(pod.metadata.uid, 'gc-held')
      return
    }

    if (!registry || gc === 'fail') {
      await setStatus(
        pod,
        'Failed',
        false,
        JSON.stringify({blob_bytes_after: null, blob_bytes_before: null, exit_code: 1}),
      )
      return
    }

    const before = registry.blobBytesOnDisk()
    const result = await registry.garbageCollect({
      deleteUntagged: (pod.spec.containers?.[0]?.args ?? []).includes('--delete-untagged'),
    })
    const message = {blob_bytes_after: registry.blobBytesOnDisk(), blob_bytes_before: before, exit_code: result.code}
    await setStatus(pod, result.code === 0 ? 'Succeeded' : 'Failed', false, JSON.stringify(message))
  }

  async function reconcile(): Promise<void> {
    const list = await kube(endpoint, 'GET', podsPath)
    const pods: Pod[] = list.body.items ?? []
    let acted = false
    for (const pod of pods) {
      const state = reported.get(pod.metadata.uid)
      const pending =
        pod.metadata.deletionTimestamp ||
        !pod.spec.nodeName ||
        !state ||
        (state === 'held' && !hold) ||
        (state === 'gc-held' && gc !== 'hold')
      const terminal = ['Failed', 'Succeeded'].includes(pod.status?.phase) && !pod.metadata.deletionTimestamp
      if (!pending || terminal) continue
      await handle(pod) // eslint-disable-line no-await-in-loop -- one pod at a time, like a kubelet's sync loop
      acted = true
    }

    idle = !acted
  }

  function kick(): void {
    if (stopped) return
    if (running) {
      again = true
      return
    }

    running = (async () => {
      do {
        again = false
        // eslint-disable-next-line no-await-in-loop -- one reconcile at a time
        await reconcile().catch((error) => {
          if (!stopped) console.error(`node-sim(${namespace}): ${error instanceof Error ? error.message : error}`)
          again = true
        })
      } while (again && !stopped) // eslint-disable-line no-unmodified-loop-condition -- set by kick() and stop()
    })().finally(() => {
      running = undefined
    })
  }

  const unwatch = kubeWatch(endpoint, podsPath, kick)
  // The watch prompts; the poll makes sure nothing is missed (a reconnect gap, a conflict to retry).
  const timer = setInterval(kick, 250)
  timer.unref()
  kick()
  return {
    gcMode(mode) {
      gc = mode
      kick()
    },
    holdReady(on) {
      hold = on
      kick()
    },
    async settle() {
      do {
        kick()
        await running // eslint-disable-line no-await-in-loop
      } while (!idle && !stopped) // eslint-disable-line no-unmodified-loop-condition -- set by reconcile() and stop()
    },
    starts,
    async stop() {
      stopped = true
      clearInterval(timer)
      unwatch()
      await running
    },
  }
}
