import type {AppsV1Api, CoreV1Api, KubeConfig} from '@kubernetes/client-node'

import {existsSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type {DrcConfig} from '../config/types.js'

import {DrcError} from '../lib/errors.js'
import {inCluster} from './configured.js'
import {decodeSecretData} from './secrets.js'

export {inCluster, kubeConfigured, SERVICE_ACCOUNT_DIR} from './configured.js'

/**
 * The one place the Kubernetes client library is loaded at run time (it takes over a second and ~75 MB):
 * only once a configuration has been found, never at module load, so commands that do not talk to
 * Kubernetes never pay for it.
 */
export async function kubeLibrary(): Promise<typeof import('@kubernetes/client-node')> {
  return import('@kubernetes/client-node')
}

export type KubeConfigSource = 'in-cluster' | `kubeconfig:${string}`

export interface KubeClients {
  apps: AppsV1Api
  core: CoreV1Api
  kc: KubeConfig
  /** Where the configuration came from, for messages ("in-cluster" or "kubeconfig:<path>"). */
  source: KubeConfigSource
}

/** Reads a secret and returns its data decoded from base64 (`{key: value}`). */
export type SecretReader = (namespace: string, name: string) => Promise<Record<string, string>>

/** No Kubernetes configuration can be found at all (not in a pod, no kubeconfig). */
export class KubeUnavailableError extends DrcError {
  /** True when a kubeconfig was named (kubernetes.kubeconfig / KUBECONFIG) but cannot be used. */
  readonly configured: boolean

  constructor(message: string, configured: boolean) {
    super(message, {
      suggestions: [
        'run drc inside the cluster with a service account, or',
        'set kubernetes.kubeconfig (or KUBECONFIG) to a kubeconfig file with access to the Domino platform namespace',
      ],
    })
    this.name = 'KubeUnavailableError'
    this.configured = configured
  }
}

/**
 * Loads the Kubernetes configuration: in-cluster first (a pod's service account), then the configured
 * kubeconfig (kubernetes.kubeconfig, which KUBECONFIG also sets), then ~/.kube/config.
 * Unlike the library's loadFromDefault it never falls back to http://localhost:8080, so "no cluster"
 * is an explicit error instead of a confusing connection refusal.
 */
export async function loadKubeConfig(
  config: Pick<DrcConfig, 'kubernetes'>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{kc: KubeConfig; source: KubeConfigSource}> {
  if (inCluster(env)) {
    const {KubeConfig} = await kubeLibrary()
    const kc = new KubeConfig()
    kc.loadFromCluster()
    return {kc, source: 'in-cluster'}
  }

  const configured = config.kubernetes.kubeconfig
  const candidates = configured
    ? configured.split(path.delimiter).filter(Boolean)
    : [path.join(os.homedir(), '.kube', 'config')]
  const files = candidates.filter((f) => existsSync(f))
  if (files.length === 0) {
    throw new KubeUnavailableError(
      configured
        ? `kubeconfig ${configured} (kubernetes.kubeconfig / KUBECONFIG) does not exist`
        : 'no Kubernetes configuration: not running in a cluster and ~/.kube/config does not exist',
      Boolean(configured),
    )
  }

  // The library takes over a second to import: only load it once there is a configuration to read.
  const k8s = await kubeLibrary()
  const kc = new k8s.KubeConfig()
  try {
    kc.loadFromFile(files[0])
    // Several files (KUBECONFIG=a:b) are merged the way kubectl does; the first one's current context wins.
    for (const extra of files.slice(1)) {
      const more = new k8s.KubeConfig()
      more.loadFromFile(extra)
      kc.mergeConfig(more, true)
    }
  } catch (error) {
    throw new KubeUnavailableError(
      `cannot read kubeconfig ${files.join(path.delimiter)}: ${(error as Error).message}`,
      true,
    )
  }

  if (!kc.getCurrentCluster())
    throw new KubeUnavailableError(`kubeconfig ${files[0]} has no current context with a cluster`, true)
  return {kc, source: `kubeconfig:${files.join(path.delimiter)}`}
}

export interface KubeClientOptions {
  /** Aborts every request of these clients that is still in flight (a run that gave up on a hung API server). */
  signal?: AbortSignal
}

/** The API clients drc uses, built from {@link loadKubeConfig}. */
export async function createKubeClients(
  config: Pick<DrcConfig, 'kubernetes'>,
  env: NodeJS.ProcessEnv = process.env,
  opts: KubeClientOptions = {},
): Promise<KubeClients> {
  // Configuration first: with none, this throws before the library is loaded (not in parallel with it).
  const {kc, source} = await loadKubeConfig(config, env)
  const k8s = await kubeLibrary()
  const {signal} = opts
  if (!signal) return {apps: kc.makeApiClient(k8s.AppsV1Api), core: kc.makeApiClient(k8s.CoreV1Api), kc, source}
  // What kc.makeApiClient builds, plus a middleware that attaches the signal: the library has no request
  // timeout, so without it a black-holed API server keeps the process alive after drc has moved on.
  const cluster = kc.getCurrentCluster()
  if (!cluster) throw new KubeUnavailableError(`kubeconfig (${source}) has no current cluster`, true)
  const configuration = k8s.createConfiguration({
    authMethods: {default: kc},
    baseServer: new k8s.ServerConfiguration(cluster.server, {}),
    promiseMiddleware: [
      {
        async post(response) {
          return response
        },
        async pre(request) {
          request.setSignal(signal)
          return request
        },
      },
    ],
  })
  return {apps: new k8s.AppsV1Api(configuration), core: new k8s.CoreV1Api(configuration), kc, source}
}

/** HTTP status of a failed Kubernetes API call (client-node throws ApiException with `code`), if any. */
export function kubeStatusCode(error: unknown): number | undefined {
  const code = (error as undefined | {code?: unknown})?.code
  return typeof code === 'number' ? code : undefined
}

/**
 * A one-line description of a failed Kubernetes call: the API server's Status message when there is one,
 * else the transport error (client-node wraps it as "request to … failed, reason: …").
 */
export function describeKubeError(error: unknown): string {
  const status = kubeStatusCode(error)
  const body = (error as undefined | {body?: unknown})?.body
  if (status !== undefined) {
    let message: string | undefined
    try {
      const parsed = typeof body === 'string' ? JSON.parse(body) : body
      if (parsed && typeof parsed === 'object' && typeof (parsed as {message?: unknown}).message === 'string')
        message = (parsed as {message: string}).message
    } catch {
      // Not a Status object (a proxy's HTML page, for example): fall through to the status code alone.
    }

    return message ? `HTTP ${status}: ${message}` : `HTTP ${status}`
  }

  return error instanceof Error ? error.message : String(error)
}

/** A {@link SecretReader} over the given clients. A missing secret or key is an error naming it. */
export function secretReader(clients: Pick<KubeClients, 'core'>): SecretReader {
  return async (namespace, name) => {
    try {
      const secret = await clients.core.readNamespacedSecret({name, namespace})
      return decodeSecretData(secret.data)
    } catch (error) {
      const status = kubeStatusCode(error)
      const what = `secret ${namespace}/${name}`
      if (status === 404) throw new DrcError(`${what} does not exist`, {cause: error})
      if (status === 403)
        throw new DrcError(`not allowed to read ${what} (${describeKubeError(error)})`, {
          cause: error,
          suggestions: [`grant the service account 'get' on secrets in namespace ${namespace}`],
        })
      throw new DrcError(`cannot read ${what}: ${describeKubeError(error)}`, {cause: error})
    }
  }
}

/**
 * A {@link SecretReader} that loads the Kubernetes configuration on first use. Connection factories take
 * it as their fallback for credentials, so a run that has all passwords configured never touches Kubernetes.
 */
export function lazySecretReader(
  config: Pick<DrcConfig, 'kubernetes'>,
  env: NodeJS.ProcessEnv = process.env,
): SecretReader {
  let reader: Promise<SecretReader> | undefined
  return async (namespace, name) => {
    reader ??= createKubeClients(config, env).then((clients) => secretReader(clients))
    return (await reader)(namespace, name)
  }
}

/**
 * A reader of a secret's raw `data` (values still base64), null when the secret does not exist: the shape
 * src/registry/credentials.ts takes, since it decodes `.dockerconfigjson` itself.
 */
export function secretDataReader(
  kube: () => Promise<Pick<KubeClients, 'core'>>,
): (namespace: string, name: string) => Promise<null | Record<string, string>> {
  return async (namespace, name) => {
    const {core} = await kube()
    try {
      return (await core.readNamespacedSecret({name, namespace})).data ?? {}
    } catch (error) {
      if (kubeStatusCode(error) === 404) return null
      throw error
    }
  }
}
