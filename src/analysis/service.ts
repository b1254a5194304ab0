import type {DrcConfig} from '../config/types.js'

import {clientOptionsFromConfig, RegistryClient} from '../registry/client.js'
import {type ReadSecret, resolveCredentials} from '../registry/credentials.js'
import {ManifestCache} from '../registry/manifest-cache.js'
import {defaultRepositories, type ScanProgress, scanRegistry, type ScanResult} from './scan.js'

export interface AnalysisOptions {
  /** Scan every repository of `_catalog` instead of the configured ones. */
  allRepositories?: boolean
  /** Manifest cache directory (default `<analysis.output_dir>/.cache/manifests`; null: no cache). */
  cacheDir?: null | string
  onProgress?: (p: ScanProgress) => void
  onVanished?: (repository: string, tag: string) => void
  /** Reads Kubernetes secrets for registry credentials (injected by the caller that has a cluster). */
  readSecret?: ReadSecret
  tagFilter?: (tag: string) => boolean
}

export interface AnalysisStats {
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

/** Scans the configured registry into a blob graph (the one place commands get registry analysis from). */
export async function analyseRegistry(config: DrcConfig, opts: AnalysisOptions = {}): Promise<AnalysisRun> {
  const credentials = await resolveCredentials(config, {readSecret: opts.readSecret})
  const client = new RegistryClient(clientOptionsFromConfig(config, credentials))
  const cache =
    opts.cacheDir === null ? null : opts.cacheDir ? new ManifestCache(opts.cacheDir) : ManifestCache.forConfig(config)
  const t0 = performance.now()
  try {
    const repositories = opts.allRepositories
      ? await client.catalog()
      : defaultRepositories(config.registry.repository, config.registry.scan_repositories)
    const result = await scanRegistry(client, {
      cache,
      concurrency: config.analysis.max_workers * 2,
      onProgress: opts.onProgress,
      onVanished: opts.onVanished,
      repositories,
      tagFilter: opts.tagFilter,
    })
    const tags = result.repositories.reduce((n, r) => n + r.tags, 0)
    return {
      ...result,
      registryUrl: client.baseUrl,
      stats: {
        cache_hits: cache?.hits ?? 0,
        cache_misses: cache?.misses ?? 0,
        duration_ms: Math.round(performance.now() - t0),
        requests: client.stats.requests,
        requests_per_tag: tags === 0 ? 0 : Math.round((client.stats.requests / tags) * 1000) / 1000,
        retries: client.stats.retries,
        tags,
        throttled: client.stats.throttled,
        token_requests: client.stats.tokenRequests,
      },
    }
  } finally {
    await client.close()
  }
}
