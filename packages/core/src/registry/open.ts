import type {DrcConfig} from '../config/types.js'
import type {RegistryClient} from './client.js'
import type {ReadSecret} from './credentials.js'

/**
 * Registry credentials may live in Kubernetes secrets (registry.auth_secret, domino-registry). The cluster is only
 * contacted when no user/password is configured, and each call is bounded, so a missing or black-holed API server
 * costs at most a few seconds and then means "no secret" (resolveCredentials treats a failed read as absent).
 */
export function kubeSecretReader(config: DrcConfig, timeoutMs = 10_000): ReadSecret {
  return async (namespace, name) => {
    const {createKubeClients, secretDataReader} = await import('../kube/client.js')
    const clients = createKubeClients(config, process.env, {signal: AbortSignal.timeout(timeoutMs)})
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
