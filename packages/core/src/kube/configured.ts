import {existsSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type {DrcConfig} from '../config/types.js'

/** Where the service account of a pod is mounted; its token file marks "running inside a cluster". */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount'

/** Inside a pod: the API server's address in the environment and a mounted service-account token. */
export function inCluster(env: NodeJS.ProcessEnv = process.env): boolean {
  return (
    Boolean(env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) &&
    existsSync(path.join(SERVICE_ACCOUNT_DIR, 'token'))
  )
}

/**
 * Whether any Kubernetes configuration is there to try: in-cluster, a kubeconfig named by kubernetes.kubeconfig
 * (which KUBECONFIG sets), or ~/.kube/config. Costs a few stat calls and loads nothing, so callers for which
 * Kubernetes is optional (registry credentials) skip it, and its 1 s / 75 MB client library, when this is false.
 */
export function kubeConfigured(config: Pick<DrcConfig, 'kubernetes'>, env: NodeJS.ProcessEnv = process.env): boolean {
  if (inCluster(env) || config.kubernetes.kubeconfig) return true
  return existsSync(path.join(os.homedir(), '.kube', 'config'))
}
