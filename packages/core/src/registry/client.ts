import type {Readable} from 'node:stream'

import type {DrcConfig} from '../config/types.js'
import type {CredentialSource} from './credentials.js'

import {readCaFile} from '../config/tls.js'
import {getBlob, headBlob, uploadBlob, uploadBlobStream} from './blobs.js'
import {catalog, listTags} from './catalog.js'
import {
  deleteManifest,
  getManifest,
  headManifest,
  type ManifestHead,
  type ManifestResult,
  putManifest,
} from './manifests.js'
import {type ClientStats, registryBaseUrl, type RegistryClientOptions, RegistryTransport} from './transport.js'

export {nextLink} from './catalog.js'
export {sha256Digest} from './manifests.js'
export type {ManifestHead, ManifestResult} from './manifests.js'
export {registryBaseUrl} from './transport.js'
export type {ClientStats, RegistryClientOptions} from './transport.js'

export function clientOptionsFromConfig(config: DrcConfig, credentials?: CredentialSource): RegistryClientOptions {
  return {
    credentials,
    maxConcurrency: config.analysis.max_workers,
    rateLimit: config.rate_limit.enabled
      ? {burst: config.rate_limit.burst_size, requestsPerSecond: config.rate_limit.requests_per_second}
      : null,
    retry: {
      exponentialBase: config.retry.exponential_base,
      initialDelay: config.retry.initial_delay,
      jitter: config.retry.jitter,
      maxDelay: config.retry.max_delay,
      maxRetries: config.retry.max_retries,
      timeoutMs: config.retry.timeout * 1000,
    },
    tls: {
      ca: config.registry.ca_file ? readCaFile(config.registry.ca_file, 'registry.ca_file') : undefined,
      verify: config.registry.tls_verify,
    },
    url: registryBaseUrl(config.registry.url, config.registry.insecure),
  }
}

/**
 * OCI distribution client. The request core (pool, auth, gate, token bucket, retries) is `RegistryTransport`;
 * the requests themselves are in `catalog.ts`, `manifests.ts` and `blobs.ts`.
 */
export class RegistryClient {
  readonly baseUrl: string
  readonly stats: ClientStats
  private readonly transport: RegistryTransport

  constructor(opts: RegistryClientOptions) {
    this.transport = new RegistryTransport(opts)
    this.baseUrl = this.transport.baseUrl
    this.stats = this.transport.stats
  }

  /** Catalog of repositories, following `Link` pagination. */
  async catalog(pageSize = 1000): Promise<string[]> {
    return catalog(this.transport, pageSize)
  }

  async close(): Promise<void> {
    await this.transport.close()
  }

  /** Deletes a manifest by digest (every tag on it disappears: plan at the digest level, pitfall P1). */
  async deleteManifest(repository: string, digest: string): Promise<void> {
    return deleteManifest(this.transport, repository, digest)
  }

  /** Blob as a stream; the caller must consume or destroy it. */
  async getBlob(repository: string, digest: string): Promise<{size: number; stream: NodeJS.ReadableStream}> {
    return getBlob(this.transport, repository, digest)
  }

  async getManifest(repository: string, reference: string): Promise<ManifestResult> {
    return getManifest(this.transport, repository, reference)
  }

  /** Size of a blob, or null when the repository does not have it. */
  async headBlob(repository: string, digest: string): Promise<null | number> {
    return headBlob(this.transport, repository, digest)
  }

  async headManifest(repository: string, reference: string): Promise<ManifestHead> {
    return headManifest(this.transport, repository, reference)
  }

  /** Tags of a repository, following `Link` pagination when the registry paginates, sorted (2.8 does not sort). */
  async listTags(repository: string, pageSize?: number): Promise<string[]> {
    return listTags(this.transport, repository, pageSize)
  }

  /** Checks that `/v2/` answers (and that the credentials are accepted). */
  async ping(): Promise<void> {
    await this.transport.call({access: 'ping', expect: [200], method: 'GET', path: '/v2/'})
  }

  async putManifest(repository: string, reference: string, body: Buffer, mediaType: string): Promise<string> {
    return putManifest(this.transport, {reference, repository}, body, mediaType)
  }

  /** Uploads a blob; with `mountFrom`, a cross-repository mount first. Returns 'mounted' or 'uploaded'. */
  async uploadBlob(
    repository: string,
    digest: string,
    data: Buffer,
    mountFrom?: string,
  ): Promise<'mounted' | 'uploaded'> {
    return uploadBlob(this.transport, {digest, repository}, data, mountFrom)
  }

  /** Uploads a blob from a stream of exactly `size` bytes; not retried, a failed upload is cancelled. */
  async uploadBlobStream(repository: string, digest: string, size: number, body: Readable): Promise<void> {
    return uploadBlobStream(this.transport, {digest, repository}, size, body)
  }
}
