import {RegistryClient, type RegistryClientOptions} from '../../packages/core/src/registry/client.js'
import {ANONYMOUS, type CredentialSource} from '../../packages/core/src/registry/credentials.js'

/** A client with fast retries (tests must not sleep for seconds) and no token bucket unless asked. */
export function testClient(
  url: string,
  over: Partial<RegistryClientOptions> & {credentials?: CredentialSource} = {},
): RegistryClient {
  return new RegistryClient({
    credentials: over.credentials ?? ANONYMOUS,
    maxConcurrency: over.maxConcurrency ?? 4,
    rateLimit: over.rateLimit ?? null,
    retry: over.retry ?? {
      exponentialBase: 2,
      initialDelay: 0.05,
      jitter: true,
      maxDelay: 0.2,
      maxRetries: 2,
      timeoutMs: 10_000,
    },
    url,
  })
}
