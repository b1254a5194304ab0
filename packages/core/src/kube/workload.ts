import type {AppsV1Api, V1Deployment, V1StatefulSet} from '@kubernetes/client-node'

import {kubeStatusCode} from './client.js'

/** What runs the registry: Domino ships a StatefulSet; some installations run it as a Deployment. */
export type WorkloadKind = 'Deployment' | 'StatefulSet'
export type Workload = V1Deployment | V1StatefulSet

export async function readWorkload(
  apps: AppsV1Api,
  kind: WorkloadKind,
  ref: {name: string; namespace: string},
): Promise<Workload> {
  return kind === 'Deployment' ? apps.readNamespacedDeployment(ref) : apps.readNamespacedStatefulSet(ref)
}

/**
 * The registry workload named `ref.name`: the StatefulSet, or, when no StatefulSet of that name exists, the
 * Deployment of that name. When neither exists the StatefulSet's 404 is the error (the configured default).
 */
export async function findWorkload(
  apps: AppsV1Api,
  ref: {name: string; namespace: string},
): Promise<{kind: WorkloadKind; workload: Workload}> {
  try {
    return {kind: 'StatefulSet', workload: await apps.readNamespacedStatefulSet(ref)}
  } catch (error) {
    if (kubeStatusCode(error) !== 404) throw error
    try {
      return {kind: 'Deployment', workload: await apps.readNamespacedDeployment(ref)}
    } catch (deploymentError) {
      if (kubeStatusCode(deploymentError) === 404) throw error
      throw deploymentError
    }
  }
}

export async function patchWorkload(
  apps: AppsV1Api,
  kind: WorkloadKind,
  params: {body: object; name: string; namespace: string},
  options: Parameters<AppsV1Api['patchNamespacedStatefulSet']>[1],
): Promise<void> {
  await (kind === 'Deployment'
    ? apps.patchNamespacedDeployment(params, options)
    : apps.patchNamespacedStatefulSet(params, options))
}
