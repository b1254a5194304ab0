/**
 * Benchmark section "registry scan": pushes N tags to a local docker-registry (one shared config and layer set;
 * each tag a distinct OCI manifest through an annotation, so pushing costs one PUT per tag), then measures in the
 * same run: a bare concurrent HEAD loop (undici, same concurrency), drc's cold scan (empty manifest cache) and
 * drc's warm scan (same cache). Reports rates and requests per tag, and the ratios to the bare loop.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {Agent, request} from 'undici'

import {scanRegistry} from '../src/analysis/scan.js'
import {RegistryClient, sha256Digest} from '../src/registry/client.js'
import {ManifestCache} from '../src/registry/manifest-cache.js'
import {mapLimit} from '../src/registry/map-limit.js'
import {MANIFEST_ACCEPT, MediaType} from '../src/registry/media-types.js'

export interface BenchRow {
  name: string
  notes?: string
  value: number | string
}

export interface RegistryScanOptions {
  concurrency: number
  /** Base URL of an empty registry this section may fill. */
  registryUrl: string
  tags: number
}

function newClient(url: string, concurrency: number): RegistryClient {
  return new RegistryClient({
    maxConcurrency: concurrency,
    rateLimit: null,
    retry: {exponentialBase: 2, initialDelay: 0.2, jitter: true, maxDelay: 2, maxRetries: 3, timeoutMs: 60_000},
    url,
  })
}

/** Fills the registry: 80 % environment, 20 % model tags. Returns the tag list. */
export async function seedRegistry(
  url: string,
  tags: number,
  concurrency: number,
): Promise<Array<{repository: string; tag: string}>> {
  const client = newClient(url, concurrency)
  const repos = ['bench/environment', 'bench/model']
  const layers = Array.from({length: 3}, (_, i) => Buffer.alloc(1024 * (i + 1), i + 1))
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: {diff_ids: layers.map((l) => sha256Digest(l)), type: 'layers'},
    }),
  )
  for (const repo of repos) {
    for (const blob of [...layers, config]) {
      // eslint-disable-next-line no-await-in-loop
      const size = await client.headBlob(repo, sha256Digest(blob))
      // eslint-disable-next-line no-await-in-loop
      if (size === null) await client.uploadBlob(repo, sha256Digest(blob), blob)
    }
  }

  const work = Array.from({length: tags}, (_, i) => ({
    repository: i % 5 === 4 ? repos[1] : repos[0],
    tag: `${i.toString(16).padStart(24, '0')}-${i % 7}`,
  }))
  await mapLimit(work, concurrency * 2, async ({repository, tag}) => {
    const manifest = Buffer.from(
      JSON.stringify({
        annotations: {'org.drc.bench.tag': tag},
        config: {
          digest: sha256Digest(config),
          mediaType: 'application/vnd.oci.image.config.v1+json',
          size: config.length,
        },
        layers: layers.map((l) => ({
          digest: sha256Digest(l),
          mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
          size: l.length,
        })),
        mediaType: MediaType.OCI_MANIFEST,
        schemaVersion: 2,
      }),
    )
    await client.putManifest(repository, tag, manifest, MediaType.OCI_MANIFEST)
  })
  await client.close()
  return work
}

/** The baseline: HEAD every tag with the same concurrency over a pooled keep-alive client, nothing else. */
export async function bareHeadLoop(
  url: string,
  work: Array<{repository: string; tag: string}>,
  concurrency: number,
): Promise<number> {
  const agent = new Agent({connections: concurrency, keepAliveTimeout: 30_000})
  const t0 = performance.now()
  await mapLimit(work, concurrency, async ({repository, tag}) => {
    const res = await request(`${url}/v2/${repository}/manifests/${tag}`, {
      dispatcher: agent,
      headers: {accept: MANIFEST_ACCEPT},
      method: 'HEAD',
    })
    await res.body.dump()
    if (res.statusCode !== 200) throw new Error(`bare HEAD ${repository}:${tag} → ${res.statusCode}`)
  })
  const seconds = (performance.now() - t0) / 1000
  await agent.close()
  return seconds
}

async function drcScan(
  url: string,
  cacheDir: string,
  concurrency: number,
): Promise<{requests: number; seconds: number; tags: number}> {
  const client = newClient(url, concurrency)
  const t0 = performance.now()
  const r = await scanRegistry(client, {
    cache: new ManifestCache(cacheDir),
    concurrency: concurrency * 2,
    repositories: ['bench/environment', 'bench/model'],
  })
  const seconds = (performance.now() - t0) / 1000
  await client.close()
  return {requests: client.stats.requests, seconds, tags: r.repositories.reduce((n, x) => n + x.tags, 0)}
}

export async function benchRegistryScan(opts: RegistryScanOptions): Promise<BenchRow[]> {
  const t0 = performance.now()
  const work = await seedRegistry(opts.registryUrl, opts.tags, opts.concurrency)
  const pushSeconds = (performance.now() - t0) / 1000
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'drc-bench-cache-'))
  try {
    await bareHeadLoop(opts.registryUrl, work, opts.concurrency) // warm-up: the registry's own caches and the OS
    const bare = await bareHeadLoop(opts.registryUrl, work, opts.concurrency)
    const cold = await drcScan(opts.registryUrl, cacheDir, opts.concurrency)
    const warm = await drcScan(opts.registryUrl, cacheDir, opts.concurrency)
    const bareAgain = await bareHeadLoop(opts.registryUrl, work, opts.concurrency)
    const bareRate = work.length / Math.min(bare, bareAgain)
    const rate = (s: {seconds: number; tags: number}): number => s.tags / s.seconds
    const r2 = (n: number): number => Math.round(n * 100) / 100
    const r3 = (n: number): number => Math.round(n * 10_000) / 10_000
    return [
      {name: 'tags', value: work.length},
      {name: 'concurrency', value: opts.concurrency},
      {name: 'push (s)', value: r2(pushSeconds)},
      {name: 'bare HEAD loop (tags/s)', notes: 'best of two runs', value: Math.round(bareRate)},
      {name: 'cold scan (tags/s)', value: Math.round(rate(cold))},
      {
        name: 'cold scan requests/tag',
        notes: 'target ≤ 1.05',
        value: `${r3(cold.requests / cold.tags)} (${cold.requests}/${cold.tags})`,
      },
      {name: 'cold / bare', notes: 'target ≥ 0.7', value: r2(rate(cold) / bareRate)},
      {name: 'warm scan (tags/s)', value: Math.round(rate(warm))},
      {
        name: 'warm scan requests/tag',
        notes: 'target ≤ 1.02',
        value: `${r3(warm.requests / warm.tags)} (${warm.requests}/${warm.tags})`,
      },
      {name: 'warm / bare', notes: 'target ≥ 0.7', value: r2(rate(warm) / bareRate)},
    ]
  } finally {
    rmSync(cacheDir, {force: true, recursive: true})
  }
}
