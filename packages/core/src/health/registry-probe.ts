import type {DrcConfig} from '../config/types.js'
import type {CredentialSource} from '../registry/credentials.js'

/** The registry operations the health check needs (the deletion lifecycle may pass its own client). */
export interface RegistryProbe {
  /** The base URL, with scheme, for messages. */
  readonly baseUrl: string
  close(): Promise<void>
  /** Tags of a repository; a repository the registry does not know has none. */
  listTags(repository: string): Promise<string[]>
  /** GET /v2/ (with authentication): resolves when the registry answers 200. */
  ping(): Promise<void>
}

/**
 * A probe over the shared registry client (src/registry/client.ts) with retries off: a health check must
 * report a dead registry within its timeout, not after the backoff schedule meant for long scans.
 */
export async function registryProbe(
  config: DrcConfig,
  opts: {credentials?: CredentialSource; timeoutMs: number},
): Promise<RegistryProbe> {
  const [{clientOptionsFromConfig, RegistryClient}, {NotFoundError}] = await Promise.all([
    import('../registry/client.js'),
    import('../registry/errors.js'),
  ])
  const options = clientOptionsFromConfig(config, opts.credentials)
  const client = new RegistryClient({
    ...options,
    maxConcurrency: Math.min(options.maxConcurrency, 4),
    rateLimit: null,
    retry: {...options.retry, maxRetries: 0, timeoutMs: Math.min(options.retry.timeoutMs, opts.timeoutMs)},
  })
  return {
    baseUrl: client.baseUrl,
    close: () => client.close(),
    async listTags(repository) {
      try {
        return await client.listTags(repository)
      } catch (error) {
        if (error instanceof NotFoundError) return []
        throw error
      }
    },
    ping: () => client.ping(),
  }
}
