/**
 * The fake Kubernetes API server (the only fake the project allows): plain HTTP on 127.0.0.1, faithful to the
 * real API for the subset drc uses (paths, verbs, status codes, Status objects, resourceVersion, patch content
 * types, `?dryRun=All`, `pods/exec` over WebSocket with the v4/v5 channel protocol).
 *
 * It drives a real registry: when the registry StatefulSet's pod template changes it "rolls out" the way the
 * StatefulSet controller does (old pod not ready, registry process restarted with the container's env, new pod
 * ready, status revisions updated), so tests prove end to end that deletion is refused while locked.
 */
import {spawn} from 'node:child_process'
import {createHash, randomUUID} from 'node:crypto'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import http, {type IncomingMessage, type ServerResponse} from 'node:http'
import os from 'node:os'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {WebSocketServer} from 'ws'
import YAML from 'yaml'

import type {RegistryHandle} from './registry.js'

import {registryBinary} from './install.js'
import {applyPatch, PATCH_TYPES, PatchError} from './kube-patch.js'

/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects are free-form JSON here */
type KubeObject = Record<string, any>

interface ResourceDef {
  group: string
  kind: string
  namespaced: boolean
  resource: string
  verbs: ReadonlySet<string>
  version: string
}

const def = (resource: string, kind: string, group: string, version: string, verbs: string[], namespaced = true) =>
  ({group, kind, namespaced, resource, verbs: new Set(verbs), version}) satisfies ResourceDef

const RESOURCES: ResourceDef[] = [
  def('namespaces', 'Namespace', '', 'v1', ['get', 'list'], false),
  def('pods', 'Pod', '', 'v1', ['get', 'list']),
  def('services', 'Service', '', 'v1', ['get', 'list']),
  def('secrets', 'Secret', '', 'v1', ['get', 'list']),
  def('statefulsets', 'StatefulSet', 'apps', 'v1', ['get', 'list', 'patch', 'update']),
  def('deployments', 'Deployment', 'apps', 'v1', ['get', 'list', 'patch', 'update']),
  def('leases', 'Lease', 'coordination.k8s.io', 'v1', ['create', 'delete', 'get', 'list', 'patch', 'update']),
]

const resourceDef = (resource: string) => RESOURCES.find((d) => d.resource === resource)
const key = (resource: string, ns: string, name: string) => `${resource}/${ns}/${name}`
const qualified = (d: ResourceDef) => (d.group ? `${d.resource}.${d.group}` : d.resource)
const apiVersionOf = (d: ResourceDef) => (d.group ? `${d.group}/${d.version}` : d.version)

function dryRunOf(url: URL): boolean {
  const values = url.searchParams.getAll('dryRun')
  for (const value of values) {
    if (value !== 'All')
      throw new KubeError(400, 'BadRequest', `Invalid dryRun value: "${value}": supported values: "All"`)
  }

  return values.length > 0
}

export class KubeError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message)
  }

  toStatus(): KubeObject {
    return {
      apiVersion: 'v1',
      code: this.code,
      ...(this.details ? {details: this.details} : {}),
      kind: 'Status',
      message: this.message,
      metadata: {},
      reason: this.reason,
      status: 'Failure',
    }
  }
}

const notFound = (d: ResourceDef, name: string) =>
  new KubeError(404, 'NotFound', `${qualified(d)} "${name}" not found`, {
    group: d.group || undefined,
    kind: d.resource,
    name,
  })

const conflict = (d: ResourceDef, name: string) =>
  new KubeError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(d)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    {group: d.group || undefined, kind: d.resource, name},
  )

const invalid = (d: ResourceDef, name: string, message: string) =>
  new KubeError(422, 'Invalid', `${d.kind}${d.group ? '.' + d.group : ''} "${name}" is invalid: ${message}`, {
    group: d.group || undefined,
    kind: d.kind,
    name,
  })

export interface KubeFault {
  /** Delay the response by this many ms (applied before anything else). */
  delayMs?: number
  /** Only matching requests; default all. */
  method?: string
  path?: RegExp | string
  /** Answer with this HTTP status and a matching Status object instead of serving the request. */
  status?: number
  /** How many matching requests are affected (default: until cleared). */
  times?: number
}

export interface KubeFakeOptions {
  keycloakPassword?: string
  mongo?: {password: string; user: string}
  namespace?: string
  /** The real registry whose process the StatefulSet controls (optional: without it rollouts are simulated). */
  registry?: RegistryHandle
  /** Registry credentials for the `domino-registry` dockerconfigjson secret. */
  registryCredentials?: {password: string; username: string}
  statefulSet?: string
  /** When set, every request must carry `Authorization: Bearer <token>` (401 otherwise). */
  token?: string
}

export interface KubeFakeHandle {
  clearFaults(): void
  /** A fault (delay and/or error status) for matching requests; returns a function that removes it. */
  inject(fault: KubeFault): () => void
  kubeconfigPath: string
  namespace: string
  /** Reads a stored object (a deep copy), e.g. `object('pods', 'docker-registry-0')`. */
  object(resource: string, name: string, namespace?: string): KubeObject | undefined
  /** New rollouts leave the pod not ready (the registry process is restarted, the pod never reports Ready). */
  podNeverReady(on?: boolean): void
  /** Every request served: method, path (with query) and content type. */
  requests: Array<{contentType?: string; method: string; path: string}>
  /** Number of completed rollouts of the registry StatefulSet. */
  rollouts: number
  statefulset: string
  stop(): Promise<void>
  token: string
  /** Adds or replaces an object (tests add e.g. a custom auth secret). */
  upsert(resource: string, object: KubeObject): KubeObject
  url: string
  /** Resolves when no rollout is pending or running. */
  waitForRollouts(): Promise<void>
}

function parseSelector(selector: string): Array<(labels: Record<string, string>) => boolean> {
  const requirements: Array<(labels: Record<string, string>) => boolean> = []
  // Split on commas outside parentheses.
  const parts = selector.match(/(?:[^,(]|\([^)]*\))+/g) ?? []
  for (const raw of parts) {
    const part = raw.trim()
    let m: null | RegExpExecArray
    if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part))) {
      const [, key, op, list] = m
      const values = new Set(list.split(',').map((v) => v.trim()))
      requirements.push((l) => (op === 'in' ? key in l && values.has(l[key]) : !(key in l) || !values.has(l[key])))
    } else if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(part))) {
      const [, key, op, value] = m
      requirements.push((l) => (op === '!=' ? l[key] !== value : l[key] === value))
    } else if ((m = /^(!?)([\w./-]+)$/.exec(part))) {
      const [, not, key] = m
      requirements.push((l) => (not ? !(key in l) : key in l))
    } else {
      throw new KubeError(400, 'BadRequest', `unable to parse requirement: found '${part}', expected: valid selector`)
    }
  }

  return requirements
}

function fieldValue(object: KubeObject, field: string): string | undefined {
  let node: any = object
  for (const part of field.split('.')) node = node?.[part]
  return node === undefined ? undefined : String(node)
}

const SUPPORTED_FIELDS = new Set(['metadata.name', 'metadata.namespace', 'status.phase'])

function parseFieldSelector(selector: string): Array<(o: KubeObject) => boolean> {
  return selector
    .split(',')
    .filter(Boolean)
    .map((part) => {
      const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(part.trim())
      if (!m || !SUPPORTED_FIELDS.has(m[1])) {
        throw new KubeError(
          400,
          'BadRequest',
          `"${part}" is not a known field selector: only "${[...SUPPORTED_FIELDS].join('", "')}"`,
        )
      }

      const [, field, op, value] = m
      return (o: KubeObject) => (op === '!=' ? fieldValue(o, field) !== value : fieldValue(o, field) === value)
    })
}

const b64 = (text: string) => Buffer.from(text).toString('base64')
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z')

/** Env of the first container as a plain map (only literal `value`s; `valueFrom` is not resolved). */
export function containerEnv(statefulSet: KubeObject): Record<string, string> {
  const env: Record<string, string> = {}
  for (const entry of statefulSet.spec?.template?.spec?.containers?.[0]?.env ?? []) {
    if (typeof entry.value === 'string') env[entry.name] = entry.value
  }

  return env
}

export async function startKubeFake(options: KubeFakeOptions = {}): Promise<KubeFakeHandle> {
  const namespace = options.namespace ?? 'domino-platform'
  const stsName = options.statefulSet ?? 'docker-registry'
  const token = options.token ?? `drc-test-${randomUUID()}`
  const requireToken = options.token !== undefined
  const store = new Map<string, KubeObject>()
  let revision = 1
  const faults: Array<KubeFault & {remaining: number}> = []
  let neverReady = false
  let rolloutChain: Promise<void> = Promise.resolve()
  const requests: KubeFakeHandle['requests'] = []

  function persist(d: ResourceDef, object: KubeObject): KubeObject {
    const ns = d.namespaced ? object.metadata.namespace : ''
    object.metadata.resourceVersion = String(++revision)
    store.set(key(d.resource, ns, object.metadata.name), object)
    return object
  }

  function upsert(resource: string, object: KubeObject): KubeObject {
    const d = resourceDef(resource)
    if (!d) throw new Error(`kube-fake: unknown resource ${resource}`)
    const stored: KubeObject = structuredClone(object)
    stored.apiVersion = apiVersionOf(d)
    stored.kind = d.kind
    stored.metadata = {
      creationTimestamp: now(),
      uid: randomUUID(),
      ...stored.metadata,
      ...(d.namespaced ? {namespace: stored.metadata?.namespace ?? namespace} : {}),
    }
    if (['deployments', 'statefulsets'].includes(resource)) stored.metadata.generation ??= 1
    return persist(d, stored)
  }

  const get = (resource: string, ns: string, name: string) => store.get(key(resource, ns, name))

  // ---- seed: what a Domino platform namespace looks like to drc ----
  const labels = {'app.kubernetes.io/instance': stsName, 'app.kubernetes.io/name': stsName}
  const template = {
    metadata: {labels},
    spec: {
      containers: [
        {
          env: [{name: 'REGISTRY_STORAGE_DELETE_ENABLED', value: 'false'}],
          image: 'registry:2.8.2',
          name: 'registry',
          ports: [{containerPort: 5000, name: 'http', protocol: 'TCP'}],
        },
      ],
    },
  }
  const revisionOf = (t: unknown) =>
    `${stsName}-${createHash('sha256').update(JSON.stringify(t)).digest('hex').slice(0, 10)}`
  const firstRevision = revisionOf(template)
  upsert('namespaces', {
    metadata: {labels: {'kubernetes.io/metadata.name': namespace}, name: namespace},
    spec: {finalizers: ['kubernetes']},
    status: {phase: 'Active'},
  })
  upsert('statefulsets', {
    metadata: {labels, name: stsName},
    spec: {
      replicas: 1,
      selector: {matchLabels: labels},
      serviceName: stsName,
      template,
      updateStrategy: {type: 'RollingUpdate'},
    },
    status: {
      availableReplicas: 1,
      collisionCount: 0,
      currentReplicas: 1,
      currentRevision: firstRevision,
      observedGeneration: 1,
      readyReplicas: 1,
      replicas: 1,
      updatedReplicas: 1,
      updateRevision: firstRevision,
    },
  })
  const podName = `${stsName}-0`
  const podFor = (ready: boolean, rev: string): KubeObject => ({
    metadata: {
      labels: {
        ...labels,
        'apps.kubernetes.io/pod-index': '0',
        'controller-revision-hash': rev,
        'statefulset.kubernetes.io/pod-name': podName,
      },
      name: podName,
      ownerReferences: [{apiVersion: 'apps/v1', controller: true, kind: 'StatefulSet', name: stsName}],
      uid: randomUUID(),
    },
    spec: structuredClone(get('statefulsets', namespace, stsName)?.spec.template.spec ?? template.spec),
    status: {
      conditions: [
        {status: 'True', type: 'PodScheduled'},
        {status: 'True', type: 'Initialized'},
        {status: ready ? 'True' : 'False', type: 'ContainersReady'},
        {status: ready ? 'True' : 'False', type: 'Ready'},
      ],
      containerStatuses: [{name: 'registry', ready, restartCount: 0, started: ready}],
      phase: ready ? 'Running' : 'Pending',
      podIP: '127.0.0.1',
    },
  })
  upsert('pods', podFor(true, firstRevision))
  upsert('services', {
    metadata: {labels, name: stsName},
    spec: {
      clusterIP: '10.0.0.50',
      ports: [{name: 'http', port: 5000, protocol: 'TCP', targetPort: 5000}],
      selector: labels,
      type: 'ClusterIP',
    },
  })
  const registryHost = options.registry?.host ?? `${stsName}.${namespace}:5000`
  const creds = options.registryCredentials ?? {password: 'registry-test-password', username: 'domino-registry'}
  const dockerConfig = {
    auths: {
      [registryHost]: {
        auth: b64(`${creds.username}:${creds.password}`),
        password: creds.password,
        username: creds.username,
      },
    },
  }
  upsert('secrets', {
    data: {'.dockerconfigjson': b64(JSON.stringify(dockerConfig))},
    metadata: {name: 'domino-registry'},
    type: 'kubernetes.io/dockerconfigjson',
  })
  const mongo = options.mongo ?? {password: 'mongo-test-password', user: 'admin'}
  upsert('secrets', {
    data: {password: b64(mongo.password), user: b64(mongo.user)},
    metadata: {name: 'mongodb-replicaset-admin'},
    type: 'Opaque',
  })
  upsert('secrets', {
    data: {password: b64(options.keycloakPassword ?? 'keycloak-test-password')},
    metadata: {name: 'keycloak-http'},
    type: 'Opaque',
  })
  upsert('deployments', {
    metadata: {labels: {'app.kubernetes.io/name': 'nucleus-frontend'}, name: 'nucleus-frontend'},
    spec: {
      replicas: 1,
      selector: {matchLabels: {'app.kubernetes.io/name': 'nucleus-frontend'}},
      template: {
        metadata: {labels: {'app.kubernetes.io/name': 'nucleus-frontend'}},
        spec: {containers: [{image: 'nucleus:test', name: 'nucleus-frontend'}]},
      },
    },
    status: {availableReplicas: 1, observedGeneration: 1, readyReplicas: 1, replicas: 1, updatedReplicas: 1},
  })

  // ---- the StatefulSet controller for the registry ----
  function setStatus(resource: string, name: string, mutate: (o: KubeObject) => void): void {
    const object = get(resource, namespace, name)
    if (!object) return
    const copy = structuredClone(object)
    mutate(copy)
    persist(resourceDef(resource)!, copy)
  }

  function scheduleRollout(): void {
    rolloutChain = rolloutChain.then(rollout).catch((error) => {
      console.error(`kube-fake: rollout of ${stsName} failed: ${error instanceof Error ? error.message : error}`)
    })
  }

  async function rollout(): Promise<void> {
    const sts = get('statefulsets', namespace, stsName)
    if (!sts) return
    const rev = revisionOf(sts.spec.template)
    const {generation} = sts.metadata
    // The controller observes the new generation; the old pod goes away, the new one is not ready yet.
    setStatus('statefulsets', stsName, (o) => {
      Object.assign(o.status, {
        availableReplicas: 0,
        observedGeneration: generation,
        readyReplicas: 0,
        updatedReplicas: 0,
        updateRevision: rev,
      })
    })
    store.delete(key('pods', namespace, podName))
    upsert('pods', podFor(false, rev))
    await (options.registry ? options.registry.restart(containerEnv(sts)) : sleep(50))
    if (neverReady) return
    setStatus('pods', podName, (o) => {
      o.metadata.uid = o.metadata.uid ?? randomUUID()
      o.status = podFor(true, rev).status
    })
    setStatus('statefulsets', stsName, (o) => {
      Object.assign(o.status, {
        availableReplicas: 1,
        currentReplicas: 1,
        currentRevision: rev,
        readyReplicas: 1,
        updatedReplicas: 1,
      })
    })
    handle.rollouts++
  }

  /** Apps objects without a simulated controller observe their new generation at once. */
  function observe(d: ResourceDef, name: string): void {
    setStatus(d.resource, name, (o) => {
      o.status = {...o.status, observedGeneration: o.metadata.generation}
    })
  }

  // ---- validation of apps objects after a write ----
  function validateApps(d: ResourceDef, name: string, before: KubeObject, after: KubeObject): void {
    if (after.metadata?.name !== name)
      throw invalid(d, name, `metadata.name: Invalid value: "${after.metadata?.name}": field is immutable`)
    const containers = after.spec?.template?.spec?.containers
    if (!Array.isArray(containers) || containers.length === 0) {
      throw invalid(d, name, 'spec.template.spec.containers: Required value')
    }

    for (const [i, container] of containers.entries()) {
      if (typeof container?.name !== 'string' || !container.name) {
        throw invalid(d, name, `spec.template.spec.containers[${i}].name: Required value`)
      }

      if (typeof container.image !== 'string' || !container.image) {
        throw invalid(d, name, `spec.template.spec.containers[${i}].image: Required value`)
      }

      for (const [j, env] of (container.env ?? []).entries()) {
        if (typeof env?.name !== 'string' || !env.name) {
          throw invalid(d, name, `spec.template.spec.containers[${i}].env[${j}].name: Required value`)
        }

        if (env.value !== undefined && typeof env.value !== 'string') {
          // What the real API server answers when a typed decode fails (e.g. a boolean where a string goes).
          throw new KubeError(
            400,
            'BadRequest',
            `json: cannot unmarshal ${typeof env.value} into Go struct field EnvVar.spec.template.spec.containers.env.value of type string`,
          )
        }
      }
    }

    if (d.resource === 'statefulsets' && JSON.stringify(before.spec.selector) !== JSON.stringify(after.spec.selector)) {
      throw invalid(
        d,
        name,
        "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
      )
    }
  }

  /** Common tail of update and patch: preconditions, immutables, generation, persist (unless dry run), react. */
  function write(
    d: ResourceDef,
    ns: string,
    name: string,
    before: KubeObject,
    after: KubeObject,
    dryRun: boolean,
    requireVersionMatch: boolean,
  ): KubeObject {
    const sentVersion = after.metadata?.resourceVersion
    if (requireVersionMatch && sentVersion !== undefined && sentVersion !== before.metadata.resourceVersion)
      throw conflict(d, name)
    if (after.metadata?.name !== undefined && after.metadata.name !== name) {
      throw new KubeError(
        400,
        'BadRequest',
        `the name of the object (${after.metadata.name}) does not match the name on the URL (${name})`,
      )
    }

    const next: KubeObject = {
      ...after,
      apiVersion: apiVersionOf(d),
      kind: d.kind,
      metadata: {
        ...after.metadata,
        creationTimestamp: before.metadata.creationTimestamp,
        name,
        uid: before.metadata.uid,
        ...(d.namespaced ? {namespace: ns} : {}),
      },
    }
    const isApps = d.group === 'apps'
    if (isApps) {
      next.status = before.status // status is a subresource: writes to the main resource ignore it
      validateApps(d, name, before, next)
      const specChanged = JSON.stringify(before.spec) !== JSON.stringify(next.spec)
      next.metadata.generation = before.metadata.generation + (specChanged ? 1 : 0)
    }

    if (dryRun) {
      next.metadata.resourceVersion = before.metadata.resourceVersion
      return next
    }

    if (
      JSON.stringify({...before, metadata: {...before.metadata, resourceVersion: 0}}) ===
      JSON.stringify({...next, metadata: {...next.metadata, resourceVersion: 0}})
    ) {
      return before // a no-op write does not bump resourceVersion, like the real API server
    }

    const stored = persist(d, next)
    if (isApps && JSON.stringify(before.spec.template) !== JSON.stringify(next.spec.template)) {
      if (d.resource === 'statefulsets' && name === stsName && ns === namespace) scheduleRollout()
      else observe(d, name)
    } else if (isApps) {
      observe(d, name)
    }

    return get(d.resource, ns, name) ?? stored
  }

  // ---- HTTP routing ----
  interface Route {
    d: ResourceDef
    name?: string
    ns: string
    subresource?: string
  }

  function route(pathname: string): Route {
    const parts = pathname
      .split('/')
      .filter(Boolean)
      .map((part) => decodeURIComponent(part))
    let group = ''
    let version: string
    let rest: string[]
    if (parts[0] === 'api' && parts[1] === 'v1') {
      version = 'v1'
      rest = parts.slice(2)
    } else if (parts[0] === 'apis' && parts.length >= 3) {
      group = parts[1]
      version = parts[2]
      rest = parts.slice(3)
    } else {
      throw new KubeError(404, 'NotFound', 'the server could not find the requested resource')
    }

    let ns = ''
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      ns = rest[1]
      rest = rest.slice(2)
    }

    const [resource, name, subresource, ...extra] = rest
    const d = resourceDef(resource)
    if (
      !d ||
      d.group !== group ||
      d.version !== version ||
      extra.length > 0 ||
      (d.namespaced && !ns && name) ||
      (!d.namespaced && ns)
    ) {
      throw new KubeError(404, 'NotFound', 'the server could not find the requested resource')
    }

    return {d, name, ns, subresource}
  }

  async function readBody(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    try {
      return JSON.parse(text)
    } catch {
      throw new KubeError(400, 'BadRequest', `the request body is not valid JSON: ${text.slice(0, 100)}`)
    }
  }

  const forbidden = (method: string, r: Route) => {
    const verb =
      {DELETE: 'delete', GET: r.name ? 'get' : 'list', PATCH: 'patch', POST: 'create', PUT: 'update'}[method] ??
      method.toLowerCase()
    const what = r.name ? `${qualified(r.d)} "${r.name}"` : qualified(r.d)
    return new KubeError(
      403,
      'Forbidden',
      `${what} is forbidden: User "system:serviceaccount:${namespace}:drc" cannot ${verb} resource "${r.d.resource}" in API group "${r.d.group}"${r.ns ? ` in the namespace "${r.ns}"` : ''}`,
      {group: r.d.group || undefined, kind: r.d.resource, name: r.name},
    )
  }

  async function applyFaults(method: string, pathWithQuery: string): Promise<KubeError | undefined> {
    for (const fault of faults) {
      if (fault.remaining <= 0) continue
      if (fault.method && fault.method.toUpperCase() !== method) continue
      if (
        fault.path &&
        !(typeof fault.path === 'string' ? pathWithQuery.includes(fault.path) : fault.path.test(pathWithQuery))
      )
        continue
      fault.remaining--
      // eslint-disable-next-line no-await-in-loop
      if (fault.delayMs) await sleep(fault.delayMs)
      if (fault.status) {
        if (fault.status === 403) {
          try {
            return forbidden(method, route(new URL(pathWithQuery, 'http://x').pathname))
          } catch {
            return new KubeError(403, 'Forbidden', 'forbidden')
          }
        }

        const reasons: Record<number, string> = {
          401: 'Unauthorized',
          404: 'NotFound',
          409: 'Conflict',
          429: 'TooManyRequests',
          500: 'InternalError',
          503: 'ServiceUnavailable',
          504: 'Timeout',
        }
        return new KubeError(
          fault.status,
          reasons[fault.status] ?? 'InternalError',
          `injected fault: HTTP ${fault.status}`,
        )
      }
    }

    return undefined
  }

  function checkToken(req: IncomingMessage): void {
    if (requireToken && req.headers.authorization !== `Bearer ${token}`)
      throw new KubeError(401, 'Unauthorized', 'Unauthorized')
  }

  async function serve(req: IncomingMessage, url: URL): Promise<{body: KubeObject; code: number}> {
    const method = req.method ?? 'GET'
    if (url.pathname === '/version')
      return {body: {gitVersion: 'v1.31.0-drc-fake', major: '1', minor: '31', platform: 'linux/amd64'}, code: 200}
    if (url.pathname === '/healthz' || url.pathname === '/readyz') return {body: {ok: true}, code: 200}
    const r = route(url.pathname)
    const {d, name, ns} = r
    if (r.subresource) {
      if (d.resource === 'pods' && r.subresource === 'exec')
        throw new KubeError(400, 'BadRequest', 'Upgrade request required')
      if (r.subresource === 'status' && method === 'GET' && name) {
        const object = get(d.resource, ns, name)
        if (!object) throw notFound(d, name)
        return {body: object, code: 200}
      }

      throw new KubeError(404, 'NotFound', 'the server could not find the requested resource')
    }

    const verb = name
      ? {DELETE: 'delete', GET: 'get', PATCH: 'patch', PUT: 'update'}[method]
      : {GET: 'list', POST: 'create'}[method]
    if (!verb || !d.verbs.has(verb)) {
      throw new KubeError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource')
    }

    const dryRun = dryRunOf(url)
    switch (verb) {
      case 'create': {
        const body = (await readBody(req)) as KubeObject
        const objectName = body?.metadata?.name
        if (typeof objectName !== 'string' || !objectName)
          throw invalid(d, '', 'metadata.name: Required value: name or generateName is required')
        if (body.metadata.namespace && body.metadata.namespace !== ns) {
          throw new KubeError(
            400,
            'BadRequest',
            'the namespace of the provided object does not match the namespace sent on the request',
          )
        }

        if (d.namespaced && !get('namespaces', '', ns)) throw notFound(resourceDef('namespaces')!, ns)
        if (get(d.resource, ns, objectName)) {
          throw new KubeError(409, 'AlreadyExists', `${qualified(d)} "${objectName}" already exists`, {
            group: d.group || undefined,
            kind: d.resource,
            name: objectName,
          })
        }

        const metadata = {...body.metadata}
        delete metadata.resourceVersion
        if (dryRun)
          return {
            body: {
              ...body,
              apiVersion: apiVersionOf(d),
              kind: d.kind,
              metadata: {...metadata, namespace: ns, uid: randomUUID()},
            },
            code: 201,
          }
        return {body: upsert(d.resource, {...body, metadata: {...metadata, namespace: ns}}), code: 201}
      }

      case 'delete': {
        const existing = get(d.resource, ns, name!)
        if (!existing) throw notFound(d, name!)
        if (!dryRun) store.delete(key(d.resource, ns, name!))
        return {
          body: {
            apiVersion: 'v1',
            details: {group: d.group || undefined, kind: d.resource, name, uid: existing.metadata.uid},
            kind: 'Status',
            metadata: {},
            status: 'Success',
          },
          code: 200,
        }
      }

      case 'get': {
        const object = get(d.resource, ns, name!)
        if (!object) throw notFound(d, name!)
        return {body: object, code: 200}
      }

      case 'list': {
        const selectors = parseSelector(url.searchParams.get('labelSelector') ?? '')
        const fields = parseFieldSelector(url.searchParams.get('fieldSelector') ?? '')
        const items = [...store.entries()]
          .filter(([k]) => k.startsWith(`${d.resource}/${ns}/`) || (!ns && k.startsWith(`${d.resource}/`)))
          .map(([, o]) => o)
          .filter((o) => selectors.every((s) => s(o.metadata.labels ?? {})) && fields.every((f) => f(o)))
          .sort((a, b) =>
            `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`),
          )
          // Items of a real list carry no kind/apiVersion.
          .map(({apiVersion: _a, kind: _k, ...rest}) => rest)
        return {
          body: {
            apiVersion: apiVersionOf(d),
            items,
            kind: `${d.kind}List`,
            metadata: {resourceVersion: String(revision)},
          },
          code: 200,
        }
      }

      case 'patch': {
        const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim()
        if (!(PATCH_TYPES as readonly string[]).includes(contentType)) {
          throw new KubeError(
            415,
            'UnsupportedMediaType',
            `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`,
          )
        }

        const existing = get(d.resource, ns, name!)
        if (!existing) throw notFound(d, name!)
        const body = await readBody(req)
        let patched: KubeObject
        try {
          patched = applyPatch(contentType as (typeof PATCH_TYPES)[number], existing, body) as KubeObject
        } catch (error) {
          if (error instanceof PatchError) {
            throw error.code === 400
              ? new KubeError(400, 'BadRequest', error.message)
              : new KubeError(422, 'Invalid', error.message)
          }

          throw error
        }

        return {body: write(d, ns, name!, existing, patched, dryRun, true), code: 200}
      }

      case 'update': {
        const existing = get(d.resource, ns, name!)
        if (!existing) throw notFound(d, name!)
        const body = (await readBody(req)) as KubeObject
        if (!body?.metadata) throw invalid(d, name!, 'metadata: Required value')
        return {body: write(d, ns, name!, existing, body, dryRun, true), code: 200}
      }
    }

    throw new KubeError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource')
  }

  const server = http.createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const method = req.method ?? 'GET'
    requests.push({contentType: req.headers['content-type'], method, path: url.pathname + url.search})
    let code: number
    let body: KubeObject
    try {
      checkToken(req)
      const injected = await applyFaults(method, url.pathname + url.search)
      if (injected) throw injected
      ;({body, code} = await serve(req, url))
    } catch (error) {
      const kubeError =
        error instanceof KubeError
          ? error
          : new KubeError(500, 'InternalError', `kube-fake: ${error instanceof Error ? error.message : error}`)
      code = kubeError.code
      body = kubeError.toStatus()
    }

    const text = JSON.stringify(body)
    res.writeHead(code, {'content-length': Buffer.byteLength(text), 'content-type': 'application/json'})
    res.end(text)
  })

  // ---- pods/exec over WebSocket (v5/v4 channel protocol: first byte 1 stdout, 2 stderr, 3 status) ----
  const wss = new WebSocketServer({
    handleProtocols: (offered) => ['v5.channel.k8s.io', 'v4.channel.k8s.io'].find((p) => offered.has(p)) ?? false,
    noServer: true,
  })

  function rejectUpgrade(socket: import('node:stream').Duplex, error: KubeError): void {
    const text = JSON.stringify(error.toStatus())
    socket.end(
      `HTTP/1.1 ${error.code} ${http.STATUS_CODES[error.code]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
    )
  }

  server.on('upgrade', async (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    requests.push({method: `${req.method} (upgrade)`, path: url.pathname + url.search})
    let pod: KubeObject
    let command: string[]
    try {
      checkToken(req)
      const injected = await applyFaults(req.method ?? 'GET', url.pathname + url.search)
      if (injected) throw injected
      const r = route(url.pathname)
      if (r.d.resource !== 'pods' || r.subresource !== 'exec' || !r.name)
        throw new KubeError(404, 'NotFound', 'the server could not find the requested resource')
      pod = get('pods', r.ns, r.name)!
      if (!pod) throw notFound(r.d, r.name)
      const container = url.searchParams.get('container') ?? pod.spec.containers[0].name
      if (!pod.spec.containers.some((c: KubeObject) => c.name === container)) {
        throw new KubeError(400, 'BadRequest', `container ${container} is not valid for pod ${r.name}`)
      }

      command = url.searchParams.getAll('command')
      if (command.length === 0) throw new KubeError(400, 'BadRequest', 'you must specify at least 1 command')
    } catch (error) {
      rejectUpgrade(socket, error instanceof KubeError ? error : new KubeError(500, 'InternalError', String(error)))
      return
    }

    wss.handleUpgrade(req, socket, head, (ws) => {
      const send = (channel: number, data: Buffer | string) => {
        if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(data)]))
      }

      const finish = (status: KubeObject) => {
        send(3, JSON.stringify(status))
        ws.close(1000)
      }

      const binary = registryBinary()
      const isRegistry = ['/bin/registry', 'docker-registry', 'registry'].includes(command[0])
      if (!isRegistry || !binary || !options.registry) {
        finish({
          message: `Internal error occurred: error executing command in container: failed to exec in container: exec: "${command[0]}": executable file not found in $PATH`,
          metadata: {},
          reason: 'InternalError',
          status: 'Failure',
        })
        return
      }

      // In the pod the registry's config lives at /etc/docker/registry/config.yml; here it is the real one.
      const args = command
        .slice(1)
        .map((a) => (a === '/etc/docker/registry/config.yml' ? options.registry!.configPath : a))
      const child = spawn(binary, args, {
        env: {...process.env, ...containerEnv(get('statefulsets', namespace, stsName) ?? {})},
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      child.stdout.on('data', (chunk: Buffer) => send(1, chunk))
      child.stderr.on('data', (chunk: Buffer) => send(2, chunk))
      ws.on('close', () => child.exitCode === null && child.kill('SIGKILL'))
      child.on('close', (code) => {
        finish(
          code === 0
            ? {metadata: {}, status: 'Success'}
            : {
                details: {causes: [{message: String(code ?? 137), reason: 'ExitCode'}]},
                message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code ?? 137}`,
                metadata: {},
                reason: 'NonZeroExitCode',
                status: 'Failure',
              },
        )
      })
    })
  })

  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve)
  })
  const {port} = server.address() as {port: number}
  const url = `http://127.0.0.1:${port}`
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'drc-kube-'))
  const kubeconfigPath = path.join(workDir, 'kubeconfig.yaml')
  writeFileSync(
    kubeconfigPath,
    YAML.stringify({
      apiVersion: 'v1',
      clusters: [{cluster: {'insecure-skip-tls-verify': true, server: url}, name: 'drc-fake'}],
      contexts: [{context: {cluster: 'drc-fake', namespace, user: 'drc-test'}, name: 'drc-fake'}],
      'current-context': 'drc-fake',
      kind: 'Config',
      users: [{name: 'drc-test', user: {token}}],
    }),
  )

  const handle: KubeFakeHandle = {
    clearFaults() {
      faults.length = 0
      neverReady = false
    },
    inject(fault) {
      const entry = {...fault, remaining: fault.times ?? Number.POSITIVE_INFINITY}
      faults.push(entry)
      return () => {
        entry.remaining = 0
      }
    },
    kubeconfigPath,
    namespace,
    object(resource, name, ns = namespace) {
      const d = resourceDef(resource)
      const object = get(resource, d?.namespaced ? ns : '', name)
      return object && structuredClone(object)
    },
    podNeverReady(on = true) {
      neverReady = on
    },
    requests,
    rollouts: 0,
    statefulset: stsName,
    async stop() {
      await rolloutChain
      for (const client of wss.clients) client.terminate()
      server.closeAllConnections()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
      })
      rmSync(workDir, {force: true, recursive: true})
    },
    token,
    upsert,
    url,
    async waitForRollouts() {
      let seen: Promise<void> | undefined
      while (seen !== rolloutChain) {
        seen = rolloutChain
        // eslint-disable-next-line no-await-in-loop
        await seen
      }
    },
  }
  return handle
}
