import type {DrcConfig} from '../config/types.js'

import {clientOptionsFromConfig, RegistryClient} from '../registry/client.js'
import {isEcrHost, type ReadSecret, resolveCredentials} from '../registry/credentials.js'
import {EcrBackend} from '../registry/ecr-backend.js'
import {ManifestCache} from '../registry/manifest-cache.js'
import {scanEcr} from './scan-ecr.js'
import {defaultRepositories, type ScanOptions, type ScanProgress, scanRegistry, type ScanResult} from './scan.js'
import {type StallWatch, withStallTimeout} from './stall.js'

export interface AnalysisOptions {
  /** Scan every repository of `_catalog` instead of the configured ones. */
  allRepositories?: boolean
  /** Manifest cache directory (default `<analysis.output_dir>/.cache/manifests`; null: no cache). */
  cacheDir?: null | string
  /** Environment for the ECR client (AWS_ENDPOINT_URL_ECR, AWS_REGION); default process.env. */
  env?: NodeJS.ProcessEnv
  onProgress?: (p: ScanProgress) => void
  onVanished?: (repository: string, tag: string) => void
  /** Reads Kubernetes secrets for registry credentials (injected by the caller that has a cluster). */
  readSecret?: ReadSecret
  tagFilter?: (tag: string) => boolean
}

export interface AnalysisStats {
  /**
   * How tags and manifests were read: `registry` (OCI distribution API, a request per tag) or `ecr-api`
   * (DescribeImages/BatchGetImage in bulk; `requests` then counts ECR API calls).
   */
  backend: 'ecr-api' | 'registry'
  cache_hits: number
  cache_misses: number
  duration_ms: number
  requests: number
  requests_per_tag: number
  retries: number
  tags: number
  throttled: number
  token_requests: number
}

export interface AnalysisRun extends ScanResult {
  registryUrl: string
  stats: AnalysisStats
}

/** AWS errors that mean "no ECR API access with these credentials": then the registry API is used instead. */
const ECR_ACCESS_ERRORS = new Set([
  'AccessDeniedException',
  'CredentialsProviderError',
  'ExpiredTokenException',
  'InvalidSignatureException',
  'UnrecognizedClientException',
])

/**
 * Scans the configured registry into a blob graph (the one place commands get registry analysis from).
 * ECR hosts are read through the ECR API (bulk listing, see scanEcr) unless these credentials may not call it;
 * other registries through the OCI distribution API. The whole scan runs under the `analysis.timeout` stall
 * deadline: it aborts, naming how far it got, when no tag has been scanned for that many seconds.
 */
export async function analyseRegistry(config: DrcConfig, opts: AnalysisOptions = {}): Promise<AnalysisRun> {
  const cache =
    opts.cacheDir === null ? null : opts.cacheDir ? new ManifestCache(opts.cacheDir) : ManifestCache.forConfig(config)
  const t0 = performance.now()
  let last: ScanProgress = {repositories: 0, tagsDone: 0, tagsTotal: 0}
  const describe = (): string =>
    `${last.tagsDone} of ${last.tagsTotal} listed tags were scanned, in ${last.repositories} repositories listed so far`

  const scanOptions = (repositories: string[], signal: AbortSignal, watch: StallWatch): ScanOptions => ({
    cache,
    concurrency: config.analysis.max_workers * 2,
    onProgress(p) {
      last = p
      watch.touch()
      opts.onProgress?.(p)
    },
    onVanished: opts.onVanished,
    repositories,
    signal,
    tagFilter: opts.tagFilter,
  })
  const stats = (
    result: ScanResult,
    backend: AnalysisStats['backend'],
    s: {requests: number; retries: number; throttled: number; tokenRequests: number},
  ): AnalysisStats => {
    const tags = result.repositories.reduce((n, r) => n + r.tags, 0)
    return {
      backend,
      cache_hits: cache?.hits ?? 0,
      cache_misses: cache?.misses ?? 0,
      duration_ms: Math.round(performance.now() - t0),
      requests: s.requests,
      requests_per_tag: tags === 0 ? 0 : Math.round((s.requests / tags) * 1000) / 1000,
      retries: s.retries,
      tags,
      throttled: s.throttled,
      token_requests: s.tokenRequests,
    }
  }

  const stallMs = config.analysis.timeout * 1000
  const configured = defaultRepositories(config.registry.repository, config.registry.scan_repositories)
  if (isEcrHost(config.registry.url) && !opts.allRepositories) {
    const viaApi = await withStallTimeout(stallMs, describe, async (signal, watch) => {
      const ecr = EcrBackend.forRegistryUrl(config.registry.url, opts.env ?? process.env, signal)
      try {
        const result = await scanEcr(ecr, scanOptions(configured, signal, watch))
        return {
          ...result,
          registryUrl: clientOptionsFromConfig(config).url,
          stats: stats(result, 'ecr-api', {requests: ecr.calls, retries: 0, throttled: 0, tokenRequests: 0}),
        }
      } catch (error) {
        // Pull-only credentials (e.g. a dockerconfigjson secret) may read the registry but not the ECR API.
        if (ECR_ACCESS_ERRORS.has((error as Error)?.name)) return null
        throw error
      } finally {
        ecr.close()
      }
    })
    if (viaApi) return viaApi
  }

  // Resolved before the stall clock starts: reading Kubernetes secrets is bounded on its own (kubeSecretReader).
  const credentials = await resolveCredentials(config, {env: opts.env, readSecret: opts.readSecret})
  return withStallTimeout(stallMs, describe, async (signal, watch) => {
    const client = new RegistryClient({...clientOptionsFromConfig(config, credentials), signal})
    try {
      const repositories = opts.allRepositories ? await client.catalog() : configured
      const result = await scanRegistry(client, scanOptions(repositories, signal, watch))
      return {...result, registryUrl: client.baseUrl, stats: stats(result, 'registry', client.stats)}
    } finally {
      await client.close()
    }
  })
}
