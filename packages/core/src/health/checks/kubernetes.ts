import type {HealthCheck} from '../types.js'

import {describeKubeError, kubeStatusCode, KubeUnavailableError} from '../../kube/client.js'
import {describePermission, missingPermissions, REGISTRY_LOCK_PERMISSIONS} from '../../kube/permissions.js'
import {detectRegistryLocation} from '../../kube/registry-location.js'
import {DEFAULT_LEASE_NAME} from '../../kube/registry-lock.js'
import {skippedOutOfCluster} from './out-of-cluster.js'

/** Annotation written by the dry-run PATCH; with dryRun=All the API server validates and authorises, but stores nothing. */
export const RBAC_PROBE_ANNOTATION = 'drc.dominodatalab.com/rbac-check'

export const kubernetesCheck: HealthCheck = {
  name: 'kubernetes',
  optional: true,
  required: true,
  async run(ctx) {
    const namespace = ctx.config.kubernetes.domino_platform_namespace
    let clients
    try {
      clients = await ctx.kube()
    } catch (error) {
      // No configuration at all is a legitimate set-up (external registry, passwords configured): skip, say what is lost.
      if (error instanceof KubeUnavailableError && !error.configured)
        return {
          message: `${error.message}; in-cluster registry unlock, GC and secret lookup are unavailable`,
          required: false,
          status: 'skipped',
          suggestions: error.suggestions,
        }
      throw error
    }

    const details = {namespace, server: clients.kc.getCurrentCluster()?.server, source: clients.source}
    try {
      await clients.core.readNamespace({name: namespace})
    } catch (error) {
      const status = kubeStatusCode(error)
      const suggestions =
        status === 403
          ? [`grant the service account 'get' on namespaces (namespace ${namespace})`]
          : status === 404
            ? ['check kubernetes.domino_platform_namespace (DOMINO_PLATFORM_NAMESPACE, --namespace)']
            : ['check that the Kubernetes API server in the kubeconfig is reachable']
      return {
        details: {...details, status},
        message: `Cannot read namespace ${namespace} via ${details.server}: ${describeKubeError(error)}`,
        status: 'unhealthy',
        suggestions,
      }
    }

    return {
      details,
      message: `Successfully connected to Kubernetes (${details.server}) and read namespace ${namespace}`,
      status: 'healthy',
    }
  },
}

export const registryRbacCheck: HealthCheck = {
  name: 'registry_rbac',
  optional: true,
  required: true,
  async run(ctx) {
    const location = await detectRegistryLocation(ctx.config, ctx.kube)
    if (!location.inCluster) return skippedOutOfCluster(location.reason, 'RBAC check skipped')

    const namespace = ctx.config.kubernetes.domino_platform_namespace
    const name = ctx.config.kubernetes.registry_statefulset
    const target = `StatefulSet ${namespace}/${name}`
    const details: Record<string, unknown> = {namespace, reason: location.reason, statefulset: name}
    const [clients, {PatchStrategy, setHeaderOptions}] = await Promise.all([
      ctx.kube(),
      import('@kubernetes/client-node'),
    ])
    try {
      await clients.apps.patchNamespacedStatefulSet(
        {body: {metadata: {annotations: {[RBAC_PROBE_ANNOTATION]: 'true'}}}, dryRun: 'All', name, namespace},
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )
    } catch (error) {
      const status = kubeStatusCode(error)
      details.status = status
      if (status === 403)
        return {
          details,
          message: `The service account does NOT have permission to PATCH ${target} (${describeKubeError(error)}); drc cannot unlock deletion on the registry`,
          status: 'unhealthy',
          suggestions: [`grant 'patch' on statefulsets (apps) in namespace ${namespace} to drc's service account`],
        }
      if (status === 404)
        return {
          details,
          message: `${target} does not exist (${describeKubeError(error)})`,
          status: 'unhealthy',
          suggestions: [
            'set kubernetes.registry_statefulset (DRC_REGISTRY_STATEFULSET) to the registry StatefulSet',
            'or kubernetes.registry_in_cluster=false for an external registry',
          ],
        }
      return {details, message: `Dry-run PATCH of ${target} failed: ${describeKubeError(error)}`, status: 'unhealthy'}
    }

    // The PATCH was the one that would change something; the rest is asked, not tried.
    const missing = await missingPermissions(clients, namespace, REGISTRY_LOCK_PERMISSIONS, {
      leases: DEFAULT_LEASE_NAME,
      statefulsets: name,
    })
    if (missing.length > 0) {
      details.missing = missing.map((p) => describePermission(p))
      return {
        details,
        message: `Allowed to PATCH ${target}, but the service account may NOT ${missing.map((p) => `${describePermission(p)} (to ${p.why})`).join(', ')}; drc cannot unlock deletion safely`,
        status: 'unhealthy',
        suggestions: missing.map(
          (p) => `grant ${describePermission(p)} in namespace ${namespace} to drc's service account`,
        ),
      }
    }

    return {
      details,
      message: `Allowed to PATCH ${target} (server-side dry-run, nothing changed) and to use the deletion lease`,
      status: 'healthy',
    }
  },
}
