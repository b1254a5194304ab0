import type {V1Container, V1EnvVar, V1Job, V1PodSpec, V1StatefulSet, V1Volume} from '@kubernetes/client-node'

import type {Workload, WorkloadKind} from './workload.js'

import {DrcError} from '../lib/errors.js'
import {DELETE_ENV} from './registry-lock.js'

/** Docker Distribution's maintenance switch: while `{"enabled": true}`, pushes and deletes are refused. */
export const READONLY_ENV = 'REGISTRY_STORAGE_MAINTENANCE_READONLY'
export const READONLY_VALUE = '{"enabled": true}'
/** Label of the GC Job's pod: the registry workload whose storage it collects. */
export const GC_JOB_LABEL = 'drc.dominodatalab.com/registry-gc'
const DEFAULT_ROOT = '/var/lib/registry'

/**
 * The Job's shell: blob bytes on the storage before and after `registry garbage-collect`, written as JSON to the
 * termination message (the API server shows it in the pod's status: no pods/log right needed). `null` when the
 * storage is not a local directory (S3 and friends): then nothing is measured.
 */
const SCRIPT = `cfg="$1"; root="$2"; shift 2
size() { d="$root/docker/registry/v2/blobs"; [ -d "$d" ] || { echo null; return; }
  find "$d" -type f -exec stat -c %s {} + | awk '{s+=$1} END {print s+0}'; }
before=$(size)
registry garbage-collect "$@" "$cfg"; rc=$?
after=$(size)
printf '{"exit_code":%d,"blob_bytes_before":%s,"blob_bytes_after":%s}' "$rc" "$before" "$after" > /dev/termination-log
exit $rc`

export interface GcJobOptions {
  configPath: string
  deleteUntagged: boolean
  jobName: string
  kind: WorkloadKind
  name: string
  namespace: string
  /** Seconds before Kubernetes stops the Job. */
  timeoutSeconds: number
}

/** What the Job's container reports (see SCRIPT); byte counts are null when the storage is not a local directory. */
export interface GcMeasurement {
  blob_bytes_after: null | number
  blob_bytes_before: null | number
  exit_code: number
}

/**
 * Volumes of the registry's pod, with a StatefulSet's volume claim templates resolved to replica 0's claim
 * (`<template>-<statefulset>-0`), which is where a single-replica registry keeps its storage.
 */
function podVolumes(workload: Workload, kind: WorkloadKind, name: string): V1Volume[] {
  const volumes = [...(workload.spec?.template.spec?.volumes ?? [])]
  if (kind !== 'StatefulSet') return volumes
  const templates = (workload as V1StatefulSet).spec?.volumeClaimTemplates ?? []
  if (templates.length > 0 && (workload.spec?.replicas ?? 1) > 1)
    throw new DrcError(
      `StatefulSet ${name} has ${workload.spec?.replicas} replicas with a volume each: garbage collection needs one shared storage`,
    )
  for (const t of templates)
    volumes.push({name: t.metadata!.name!, persistentVolumeClaim: {claimName: `${t.metadata!.name}-${name}-0`}})
  return volumes
}

const storageRoot = (env: V1EnvVar[]) =>
  env.find((e) => e.name === 'REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY')?.value ?? DEFAULT_ROOT

/**
 * The GC Job for the registry `workload`: its image, environment (storage settings and credentials come from
 * there), volume mounts and volumes, pull secrets, service account and placement, so that it reads the same
 * storage with the same configuration. Required pod affinity to the registry's pods keeps a ReadWriteOnce volume
 * mountable (same node). The registry's delete and read-only switches are left out: `garbage-collect` ignores them.
 */
export function buildGcJob(workload: Workload, o: GcJobOptions): V1Job {
  const spec = workload.spec?.template.spec
  const registry: undefined | V1Container = spec?.containers?.[0]
  if (!spec || !registry?.image)
    throw new DrcError(`${o.kind} ${o.namespace}/${o.name} has no registry container image`)
  const env = (registry.env ?? []).filter((e) => e.name !== DELETE_ENV && e.name !== READONLY_ENV)
  const selector = workload.spec?.selector?.matchLabels ?? {}
  const podSpec: V1PodSpec = {
    affinity: {
      ...spec.affinity,
      podAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          {labelSelector: {matchLabels: selector}, topologyKey: 'kubernetes.io/hostname'},
        ],
      },
    },
    containers: [
      {
        args: [o.configPath, storageRoot(env), ...(o.deleteUntagged ? ['--delete-untagged'] : [])],
        command: ['/bin/sh', '-c', SCRIPT, 'drc-gc'],
        env,
        envFrom: registry.envFrom,
        image: registry.image,
        imagePullPolicy: registry.imagePullPolicy,
        name: 'registry-gc',
        securityContext: registry.securityContext,
        terminationMessagePolicy: 'File',
        volumeMounts: registry.volumeMounts,
      },
    ],
    imagePullSecrets: spec.imagePullSecrets,
    nodeSelector: spec.nodeSelector,
    restartPolicy: 'Never',
    securityContext: spec.securityContext,
    serviceAccountName: spec.serviceAccountName,
    tolerations: spec.tolerations,
    volumes: podVolumes(workload, o.kind, o.name),
  }
  const labels = {'app.kubernetes.io/managed-by': 'drc', [GC_JOB_LABEL]: o.name}
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {labels, name: o.jobName, namespace: o.namespace},
    spec: {
      activeDeadlineSeconds: o.timeoutSeconds,
      backoffLimit: 0,
      template: {metadata: {labels}, spec: podSpec},
      ttlSecondsAfterFinished: 24 * 3600,
    },
  }
}

/** The container's termination message (SCRIPT's JSON), or undefined when it wrote none. */
export function parseMeasurement(message: string | undefined): GcMeasurement | undefined {
  if (!message) return undefined
  try {
    const m = JSON.parse(message) as GcMeasurement
    return typeof m.exit_code === 'number' ? m : undefined
  } catch {
    return undefined
  }
}
