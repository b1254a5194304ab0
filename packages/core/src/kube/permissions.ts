import type {KubeClients} from './client.js'

/** One API permission drc needs in the platform namespace, and what for. */
export interface KubePermission {
  group: string
  resource: string
  verb: string
  why: string
}

/** What unlocking, re-locking and watching the registry's rollout ask of the API (the dry-run PATCH covers patch). */
export const REGISTRY_LOCK_PERMISSIONS: KubePermission[] = [
  {group: 'apps', resource: 'statefulsets', verb: 'get', why: 'read the registry lock'},
  {group: '', resource: 'pods', verb: 'list', why: 'see registry pods still running an old revision'},
  {group: 'coordination.k8s.io', resource: 'leases', verb: 'get', why: 'read the deletion lease'},
  {group: 'coordination.k8s.io', resource: 'leases', verb: 'create', why: 'take the deletion lease'},
  {group: 'coordination.k8s.io', resource: 'leases', verb: 'update', why: 'renew and release the deletion lease'},
]

export const describePermission = (p: Pick<KubePermission, 'group' | 'resource' | 'verb'>) =>
  `'${p.verb}' on ${p.resource}${p.group ? ` (${p.group})` : ''}`

/** Verbs whose requests name no object: the authorizer sees no name, so a review must not claim one either. */
const UNNAMED_VERBS = new Set(['create', 'list', 'watch'])

/**
 * The permissions the API server denies to the current credentials (SelfSubjectAccessReview, one per permission).
 * `names` (resource → the object drc uses) makes each review ask about that object, as the real request does, so a
 * Role limited by `resourceNames` (the Helm chart's) is judged by what drc actually touches.
 */
export async function missingPermissions(
  clients: Pick<KubeClients, 'kc'>,
  namespace: string,
  permissions: KubePermission[],
  names: Record<string, string> = {},
): Promise<KubePermission[]> {
  const {AuthorizationV1Api} = await import('@kubernetes/client-node')
  const api = clients.kc.makeApiClient(AuthorizationV1Api)
  const answers = await Promise.all(
    permissions.map((p) =>
      api.createSelfSubjectAccessReview({
        body: {
          spec: {
            resourceAttributes: {
              group: p.group,
              name: UNNAMED_VERBS.has(p.verb) ? undefined : names[p.resource],
              namespace,
              resource: p.resource,
              verb: p.verb,
            },
          },
        },
      }),
    ),
  )
  return permissions.filter((_, i) => !answers[i].status?.allowed)
}
