import type {DrcConfig} from '../config/types.js'
import type {KubeClients} from './client.js'

import {stripScheme} from '../config/validate.js'
import {describeKubeError, kubeStatusCode} from './client.js'

export interface RegistryLocation {
  inCluster: boolean
  /** Why: the configured setting, the Service/StatefulSet found, or why detection gave up. */
  reason: string
}

/** The host of a registry URL, without scheme, port and path. */
export function registryHost(url: string): string {
  return stripScheme(url).split('/')[0].replace(/:\d+$/, '')
}

/** Hosts that can never be a cluster Service name: IP addresses and localhost. */
function obviouslyExternal(host: string): boolean {
  return host === 'localhost' || /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.includes(':')
}

/**
 * Where the service name and namespace of an in-cluster registry URL are (domain-spec §2.6):
 * `docker-registry.domino-platform.svc.cluster.local:5000` → docker-registry in domino-platform;
 * `docker-registry:5000` → docker-registry in the platform namespace.
 */
export function serviceOfRegistryUrl(url: string, platformNamespace: string): {name: string; namespace: string} {
  const labels = registryHost(url).split('.')
  const namespace = labels[1] && labels[1] !== 'svc' ? labels[1] : platformNamespace
  return {name: labels[0], namespace}
}

/**
 * Is the registry running in the cluster (so deletion is unlocked through its StatefulSet)?
 * kubernetes.registry_in_cluster true/false decides; `auto` looks for a Service or StatefulSet named
 * after the registry host. 404 on both means external; any other Kubernetes problem also answers
 * "external", with the reason, as the predecessor did — callers that must be sure set the key explicitly.
 */
export async function detectRegistryLocation(
  config: Pick<DrcConfig, 'kubernetes' | 'registry'>,
  kube: () => Promise<Pick<KubeClients, 'apps' | 'core'>>,
): Promise<RegistryLocation> {
  const setting = config.kubernetes.registry_in_cluster
  if (setting === 'true') return {inCluster: true, reason: 'kubernetes.registry_in_cluster is true'}
  if (setting === 'false') return {inCluster: false, reason: 'kubernetes.registry_in_cluster is false'}

  const host = registryHost(config.registry.url)
  if (obviouslyExternal(host)) return {inCluster: false, reason: `registry host ${host} is not a cluster service name`}
  const {name, namespace} = serviceOfRegistryUrl(config.registry.url, config.kubernetes.domino_platform_namespace)
  let clients: Pick<KubeClients, 'apps' | 'core'>
  try {
    clients = await kube()
  } catch (error) {
    return {inCluster: false, reason: `cannot tell whether ${host} is in the cluster: ${(error as Error).message}`}
  }

  const probes = [
    {kind: 'Service', read: () => clients.core.readNamespacedService({name, namespace})},
    {kind: 'StatefulSet', read: () => clients.apps.readNamespacedStatefulSet({name, namespace})},
  ]
  const problems: string[] = []
  for (const probe of probes) {
    try {
      // eslint-disable-next-line no-await-in-loop -- the StatefulSet is only read when there is no Service
      await probe.read()
      return {inCluster: true, reason: `${probe.kind} ${namespace}/${name} exists`}
    } catch (error) {
      if (kubeStatusCode(error) !== 404)
        problems.push(`${probe.kind} ${namespace}/${name}: ${describeKubeError(error)}`)
    }
  }

  return problems.length > 0
    ? {inCluster: false, reason: `cannot tell whether ${host} is in the cluster (${problems.join('; ')})`}
    : {inCluster: false, reason: `no Service or StatefulSet ${namespace}/${name} in the cluster`}
}
