/**
 * A registry under the control of the real test API server: a namespace with the registry workload (StatefulSet or
 * Deployment), its Service and Secrets, a real registry process, and a node simulator that runs that process for the
 * workload's pods. The shared harness runs one (domino-platform/docker-registry); tests that delete images or change
 * the lock start their own with `startClusterRegistry()` (a unique namespace in the same API server).
 */
import {randomBytes} from 'node:crypto'
import {readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'

import type {RoleRule} from './drc-role.js'

import {type ControlPlane, startControlPlane} from './kube-control-plane.js'
import {createPlatform, waitForRollout} from './kube-registry.js'
import {kube, kubeCall, type KubeEndpoint} from './kube-rest.js'
import {ensureNode, type NodeSim, startNodeSim} from './node-sim.js'
import {type RegistryHandle, type RegistryOptions, startRegistry} from './registry.js'

export interface ClusterRegistryOptions {
  /** The API server to use (default: the shared one, see testCluster()). */
  cluster?: TestCluster
  /** The `keycloak-http` secret's password. */
  keycloakPassword?: string
  kind?: 'Deployment' | 'StatefulSet'
  /** The `mongodb-replicaset-admin` secret's credentials. */
  mongo?: {password: string; user: string}
  /** The workload's name (default docker-registry). */
  name?: string
  /** Default: a unique `drc-t-<hex>`. */
  namespace?: string
  registry?: RegistryOptions
  registryCredentials?: {password: string; username: string}
}

export interface TestCluster {
  endpoint: KubeEndpoint
  /** Admin kubeconfig (token in system:masters). */
  kubeconfigPath: string
}

export interface ClusterRegistry {
  cluster: TestCluster
  /** The admin view of one object of the namespace (undefined when absent). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kubernetes objects are free-form JSON here
  get(resource: string, name: string): Promise<any>
  kind: 'Deployment' | 'StatefulSet'
  kubeconfigPath: string
  name: string
  namespace: string
  registry: RegistryHandle
  /** How many times the node simulator (re)started the registry process for a new pod. */
  rollouts(): number
  sim: NodeSim
  stop(): Promise<void>
  token: string
  url: string
  /** Resolves once the workload has rolled out and the simulator is idle. */
  waitForRollouts(timeoutMs?: number): Promise<void>
}

const GROUPS: Record<string, string> = {
  deployments: '/apis/apps/v1',
  leases: '/apis/coordination.k8s.io/v1',
  rolebindings: '/apis/rbac.authorization.k8s.io/v1',
  roles: '/apis/rbac.authorization.k8s.io/v1',
  statefulsets: '/apis/apps/v1',
}

/** The REST path of a namespaced resource collection (or of one object with `name`). */
export function resourcePath(resource: string, namespace: string, name?: string): string {
  const base = `${GROUPS[resource] ?? '/api/v1'}/namespaces/${namespace}/${resource}`
  return name ? `${base}/${name}` : base
}

/** The endpoint (server, CA, token) a kubeconfig written by the harness names. */
export function endpointOf(kubeconfigPath: string): KubeEndpoint {
  const config = YAML.parse(readFileSync(kubeconfigPath, 'utf8'))
  const {cluster} = config.clusters[0]
  return {
    ca: Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8'),
    token: config.users[0].user.token,
    url: cluster.server,
  }
}

let privateCluster: Promise<ControlPlane> | undefined

/**
 * The API server of this test run: the shared harness's (DRC_TEST_SERVICES names it) when that is a real one,
 * otherwise one started for this process (stopped when the process exits; the harness kills its children).
 */
export async function testCluster(): Promise<TestCluster> {
  const file = process.env.DRC_TEST_SERVICES
  if (file) {
    const {kube: shared} = JSON.parse(readFileSync(file, 'utf8')) as {kube: {kubeconfig: string; url: string}}
    if (shared.url.startsWith('https:'))
      return {endpoint: endpointOf(shared.kubeconfig), kubeconfigPath: shared.kubeconfig}
  }

  privateCluster ??= startControlPlane()
  const cp = await privateCluster
  return {endpoint: {ca: cp.caData, token: cp.token, url: cp.url}, kubeconfigPath: cp.kubeconfigPath}
}

export async function startClusterRegistry(options: ClusterRegistryOptions = {}): Promise<ClusterRegistry> {
  const cluster = options.cluster ?? (await testCluster())
  const {endpoint} = cluster
  const kind = options.kind ?? 'StatefulSet'
  const name = options.name ?? 'docker-registry'
  const namespace = options.namespace ?? `drc-t-${randomBytes(4).toString('hex')}`
  const registry = await startRegistry({
    deleteEnabled: false,
    ...options.registry,
    env: {REGISTRY_STORAGE_DELETE_ENABLED: 'false', ...options.registry?.env},
  })
  let sim: NodeSim | undefined
  try {
    await ensureNode(endpoint)
    await createPlatform(endpoint, {
      keycloakPassword: options.keycloakPassword,
      kind,
      mongo: options.mongo,
      name,
      namespace,
      registryCredentials: options.registryCredentials,
      registryHost: registry.host,
    })
    sim = startNodeSim({endpoint, namespace, registries: new Map([[name, registry]])})
    const target = {kind, name, namespace}
    const handle: ClusterRegistry = {
      cluster,
      async get(resource, objectName) {
        const reply = await kubeCall(endpoint, {
          allow: [404],
          method: 'GET',
          path: resourcePath(resource, namespace, objectName),
        })
        return reply.status === 404 ? undefined : reply.body
      },
      kind,
      kubeconfigPath: cluster.kubeconfigPath,
      name,
      namespace,
      registry,
      rollouts: () => Math.max(0, (sim!.starts.get(name) ?? 0) - 1),
      sim,
      async stop() {
        await sim?.stop()
        await registry.stop()
      },
      token: endpoint.token,
      url: endpoint.url,
      async waitForRollouts(timeoutMs = 30_000) {
        await sim!.settle()
        await waitForRollout(endpoint, target, timeoutMs)
        await sim!.settle()
      },
    }
    await handle.waitForRollouts()
    return handle
  } catch (error) {
    await sim?.stop()
    await registry.stop()
    throw error
  }
}

/**
 * A kubeconfig for a ServiceAccount of `namespace` bound to a Role with `rules` (least-privilege tests): the token
 * comes from the TokenRequest API, so the real authenticator and RBAC authorizer judge it.
 */
export async function serviceAccountKubeconfig(
  cluster: TestCluster,
  namespace: string,
  rules: RoleRule[],
  name = `drc-sa-${randomBytes(3).toString('hex')}`,
): Promise<string> {
  const {endpoint} = cluster
  const rbac = '/apis/rbac.authorization.k8s.io/v1'
  await kube(endpoint, 'POST', `/api/v1/namespaces/${namespace}/serviceaccounts`, {metadata: {name}})
  await kube(endpoint, 'POST', `${rbac}/namespaces/${namespace}/roles`, {metadata: {name}, rules})
  await kube(endpoint, 'POST', `${rbac}/namespaces/${namespace}/rolebindings`, {
    metadata: {name},
    roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name},
    subjects: [{kind: 'ServiceAccount', name, namespace}],
  })
  const token = await kube(endpoint, 'POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: {expirationSeconds: 3600},
  })
  const {kubeconfigYaml} = await import('./kube-control-plane.js')
  const file = path.join(os.tmpdir(), `drc-kubeconfig-${name}-${process.pid}.yaml`)
  writeFileSync(file, kubeconfigYaml(endpoint.url, endpoint.ca, token.body.status.token, name), {mode: 0o600})
  return file
}
