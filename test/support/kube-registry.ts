/**
 * A Domino-like platform namespace in the real test API server: the registry as a StatefulSet (or a Deployment)
 * whose pod the node simulator runs as the real registry process, its Service, and the Secrets drc reads
 * (domino-registry dockerconfigjson, mongodb-replicaset-admin, keycloak-http).
 */
import {kube, kubeCall, type KubeEndpoint} from './kube-rest.js'
import {REGISTRY_LABEL} from './node-sim.js'

export interface PlatformOptions {
  keycloakPassword?: string
  /** 'StatefulSet' (Domino's default) or 'Deployment'. */
  kind?: 'Deployment' | 'StatefulSet'
  mongo?: {password: string; user: string}
  /** The registry's name (StatefulSet/Deployment and Service). */
  name: string
  namespace: string
  registryCredentials?: {password: string; username: string}
  /** What the dockerconfigjson secret is keyed by: the registry's host:port. */
  registryHost: string
}

const b64 = (s: string) => Buffer.from(s).toString('base64')

/** Creates the object, or leaves an existing one alone (a resumed sandbox keeps what drc wrote). */
async function create(endpoint: KubeEndpoint, path: string, body: unknown): Promise<void> {
  await kubeCall(endpoint, {allow: [409], body, method: 'POST', path})
}

export function registryWorkload(options: Pick<PlatformOptions, 'kind' | 'name'>): Record<string, unknown> {
  const labels = {'app.kubernetes.io/instance': options.name, 'app.kubernetes.io/name': options.name}
  const template = {
    metadata: {labels: {...labels, [REGISTRY_LABEL]: options.name}},
    spec: {
      automountServiceAccountToken: false,
      containers: [
        {
          env: [{name: 'REGISTRY_STORAGE_DELETE_ENABLED', value: 'false'}],
          image: 'registry:2.8.2',
          name: 'registry',
          ports: [{containerPort: 5000, name: 'http', protocol: 'TCP'}],
        },
      ],
      terminationGracePeriodSeconds: 5,
    },
  }
  const spec = {replicas: 1, selector: {matchLabels: labels}, template}
  return options.kind === 'Deployment'
    ? {apiVersion: 'apps/v1', kind: 'Deployment', metadata: {labels, name: options.name}, spec}
    : {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: {labels, name: options.name},
        spec: {...spec, serviceName: options.name, updateStrategy: {type: 'RollingUpdate'}},
      }
}

export async function createPlatform(endpoint: KubeEndpoint, options: PlatformOptions): Promise<void> {
  const {name, namespace} = options
  const ns = `/api/v1/namespaces/${namespace}`
  await create(endpoint, '/api/v1/namespaces', {apiVersion: 'v1', kind: 'Namespace', metadata: {name: namespace}})
  const workload = registryWorkload(options)
  const resource = options.kind === 'Deployment' ? 'deployments' : 'statefulsets'
  await create(endpoint, `/apis/apps/v1/namespaces/${namespace}/${resource}`, workload)
  const {labels} = workload.metadata as {labels: Record<string, string>}
  await create(endpoint, `${ns}/services`, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {labels, name},
    spec: {ports: [{name: 'http', port: 5000, protocol: 'TCP', targetPort: 5000}], selector: labels, type: 'ClusterIP'},
  })
  const creds = options.registryCredentials ?? {password: 'registry-test-password', username: 'domino-registry'}
  const auth = {auth: b64(`${creds.username}:${creds.password}`), password: creds.password, username: creds.username}
  const secret = (secretName: string, type: string, data: Record<string, string>) => ({
    apiVersion: 'v1',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
    kind: 'Secret',
    metadata: {name: secretName},
    type,
  })
  await create(
    endpoint,
    `${ns}/secrets`,
    secret('domino-registry', 'kubernetes.io/dockerconfigjson', {
      '.dockerconfigjson': JSON.stringify({auths: {[options.registryHost]: auth}}),
    }),
  )
  const mongo = options.mongo ?? {password: 'mongo-test-password', user: 'admin'}
  await create(endpoint, `${ns}/secrets`, secret('mongodb-replicaset-admin', 'Opaque', mongo))
  await create(
    endpoint,
    `${ns}/secrets`,
    secret('keycloak-http', 'Opaque', {password: options.keycloakPassword ?? 'keycloak-test-password'}),
  )
}

/**
 * Resolves when the registry's workload has rolled out: the controller saw the latest generation and every
 * replica is updated and ready (what `kubectl rollout status` waits for).
 */
export async function waitForRollout(
  endpoint: KubeEndpoint,
  options: Pick<PlatformOptions, 'kind' | 'name' | 'namespace'>,
  timeoutMs = 30_000,
): Promise<void> {
  const resource = options.kind === 'Deployment' ? 'deployments' : 'statefulsets'
  const path = `/apis/apps/v1/namespaces/${options.namespace}/${resource}/${options.name}`
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    // eslint-disable-next-line no-await-in-loop
    const {body} = await kube(endpoint, 'GET', path)
    const {spec, status = {}} = body
    last = JSON.stringify(status)
    const done =
      status.observedGeneration >= body.metadata.generation &&
      status.updatedReplicas === spec.replicas &&
      status.readyReplicas === spec.replicas &&
      (status.replicas ?? 0) === spec.replicas &&
      (resource === 'deployments' || status.currentRevision === status.updateRevision)
    if (done) return
    // eslint-disable-next-line no-await-in-loop
    await new Promise((resolve) => {
      setTimeout(resolve, 100)
    })
  }

  throw new Error(`${resource}/${options.name} in ${options.namespace} did not roll out in ${timeoutMs} ms: ${last}`)
}
