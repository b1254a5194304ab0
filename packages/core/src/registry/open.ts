import type {DrcConfig} from '../config/types.js'
import type {RegistryClient} from './client.js'
import type {ReadSecret} from './credentials.js'

/**
 * Registry credentials may live in Kubernetes secrets (registry.auth_secret, domino-registry). The cluster is only
 * contacted when no user/password is configured, and each call is bounded, so a missing or black-holed API server
 * costs at most a few seconds and then means "no secret" (resolveCredentials treats a failed read as absent).
 * With no Kubernetes configuration at all (see kubeConfigured) a read is "no secret" at once, and neither the kube
 * modules nor the client library are loaded: a scan outside a cluster pays nothing for Kubernetes.
 */
export function kubeSecretReader(
  config: DrcConfig,
  timeoutMs = 10_000,
  env: NodeJS.ProcessEnv = process.env,
): ReadSecret {
  return async (namespace, name) => {
    const {kubeConfigured} = await import('../kube/configured.js')
    if (!kubeConfigured(config, env)) return null
    const {createKubeClients, secretDataReader} = await import('../kube/client.js')
    const clients = createKubeClients(config, env, {signal: AbortSignal.timeout(timeoutMs)})
    return secretDataReader(() => clients)(namespace, name)
  }
}

/** A client for the configured registry, with credentials resolved in the predecessor's order. The caller closes it. */
export async function openRegistryClient(config: DrcConfig): Promise<RegistryClient> {
  const [{clientOptionsFromConfig, RegistryClient}, {resolveCredentials}] = await Promise.all([
    import('./client.js'),
    import('./credentials.js'),
  ])
  const credentials = await resolveCredentials(config, {readSecret: kubeSecretReader(config)})
  return new RegistryClient(clientOptionsFromConfig(config, credentials))
}
