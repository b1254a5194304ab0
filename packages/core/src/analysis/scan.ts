import type {RegistryClient} from '../registry/client.js'
import type {ManifestCache} from '../registry/manifest-cache.js'

import {NotFoundError} from '../registry/errors.js'
import {mapLimit} from '../registry/map-limit.js'
import {type ParsedManifest, parseManifest} from '../registry/media-types.js'
import {BlobGraph, type ManifestNode} from './graph.js'

export interface ScanProgress {
  repositories: number
  tagsDone: number
  tagsTotal: number
}

export interface ScanOptions {
  cache?: ManifestCache | null
  /** Tags in flight; defaults to the client's concurrency (analysis.max_workers) × 2 so the pool never idles. */
  concurrency: number
  onProgress?: (p: ScanProgress) => void
  /** Tags the registry listed but that vanished before we read them (a concurrent delete). */
  onVanished?: (repository: string, tag: string) => void
  repositories: string[]
  /** Stops the scan: no new tag starts, and the scan rejects with `signal.reason`. */
  signal?: AbortSignal
  /** Keep only tags this returns true for (e.g. tags of given ObjectIds). */
  tagFilter?: (tag: string) => boolean
}

export interface ScanResult {
  graph: BlobGraph
  repositories: Array<{repository: string; tags: number}>
  vanished: Array<{repository: string; tag: string}>
}

/** Predecessor rule: `buildcache` tags are build caches, not images. */
export const SKIPPED_TAGS: ReadonlySet<string> = new Set(['buildcache'])

export function toNode(digest: string, size: number, m: ParsedManifest): ManifestNode {
  if (m.kind === 'index') {
    return {
      digest,
      kind: 'index',
      manifests: m.manifests.map((d) => ({
        digest: d.digest,
        platform: d.platform
          ? [d.platform.os, d.platform.architecture, d.platform.variant].filter(Boolean).join('/')
          : undefined,
        size: d.size,
      })),
      mediaType: m.mediaType,
      size,
    }
  }

  return {
    config: {digest: m.config.digest, size: m.config.size},
    digest,
    kind: 'image',
    layers: m.layers.map((l) => ({digest: l.digest, size: l.size})),
    mediaType: m.mediaType,
    size,
  }
}

/**
 * Scans repositories into a blob graph with at most one manifest request per tag: with a warm cache one HEAD
 * per tag (the digest is then looked up on disk), with a cold one a GET per tag (digest and body at once).
 * A scan that starts warm but keeps missing switches itself to GET. Index children are fetched once per digest.
 * Any registry error other than a vanished tag aborts the scan: a partial graph would under-count references.
 */
export async function scanRegistry(client: RegistryClient, opts: ScanOptions): Promise<ScanResult> {
  const graph = new BlobGraph()
  const cache = opts.cache ?? null
  const seen = new Map<string, Promise<ManifestNode>>()
  const vanished: ScanResult['vanished'] = []
  const repos: ScanResult['repositories'] = []
  const work: Array<{repository: string; tag: string}> = []
  for (const repository of opts.repositories) {
    opts.signal?.throwIfAborted()
    let tags: string[]
    try {
      // eslint-disable-next-line no-await-in-loop
      tags = await client.listTags(repository)
    } catch (error) {
      // A repository nobody pushed to yet (e.g. no model images) is empty, not an error.
      if (error instanceof NotFoundError) tags = []
      else throw error
    }

    tags = tags.filter((t) => !SKIPPED_TAGS.has(t) && (!opts.tagFilter || opts.tagFilter(t)))
    repos.push({repository, tags: tags.length})
    for (const tag of tags) work.push({repository, tag})
    // A tag list read is progress too (the stall timeout watches progress).
    opts.onProgress?.({repositories: repos.length, tagsDone: 0, tagsTotal: work.length})
  }

  const progress: ScanProgress = {repositories: repos.length, tagsDone: 0, tagsTotal: work.length}
  if (repos.length === 0) opts.onProgress?.({...progress})
  let useHead = cache ? await cache.isWarm() : false
  let headHits = 0
  let headMisses = 0

  /** Adds a manifest (`ref` names it in errors) to the graph, and reads an index's children. */
  const remember = async (
    repository: string,
    digest: string,
    {body, mediaType}: {body: Buffer; mediaType: string},
    ref: string,
  ): Promise<ManifestNode> => {
    const node = toNode(digest, body.length, parseManifest(body, mediaType, ref))
    graph.addManifest(node)
    if (node.kind === 'index') {
      await Promise.all(node.manifests!.map((c) => byDigest(repository, c.digest)))
    }

    return node
  }

  /** A manifest by digest: memory, then disk cache, then one GET (verified against the digest). */
  const byDigest = (repository: string, digest: string): Promise<ManifestNode> => {
    let p = seen.get(digest)
    if (!p) {
      p = (async () => {
        const hit = await cache?.get(digest)
        if (hit) return remember(repository, digest, hit, `${repository}@${digest}`)
        const got = await client.getManifest(repository, digest)
        await cache?.put(digest, {body: got.body, mediaType: got.mediaType})
        return remember(repository, digest, got, `${repository}@${digest}`)
      })()
      seen.set(digest, p)
    }

    return p
  }

  await mapLimit(work, opts.concurrency, async ({repository, tag}) => {
    opts.signal?.throwIfAborted()
    try {
      if (useHead) {
        const head = await client.headManifest(repository, tag)
        if (seen.has(head.digest) || (await cache?.get(head.digest))) headHits++
        else headMisses++
        // Mostly misses: the cache is stale for this registry, a GET per tag is cheaper than HEAD + GET.
        if (headMisses > 16 && headMisses > headHits) useHead = false
        await byDigest(repository, head.digest)
        graph.addTag(repository, tag, head.digest)
      } else {
        const got = await client.getManifest(repository, tag)
        if (!seen.has(got.digest)) {
          seen.set(
            got.digest,
            (async () => {
              await cache?.put(got.digest, {body: got.body, mediaType: got.mediaType})
              return remember(repository, got.digest, got, `${repository}:${tag}`)
            })(),
          )
        }

        await seen.get(got.digest)
        graph.addTag(repository, tag, got.digest)
      }
    } catch (error) {
      if (error instanceof NotFoundError && error.subject.reference === tag) {
        vanished.push({repository, tag})
        opts.onVanished?.(repository, tag)
      } else if (opts.signal?.aborted) {
        throw opts.signal.reason
      } else {
        // Name the tag even when the failing request was for an index child or a cached digest.
        if (error instanceof Error && !error.message.includes(`${repository}:${tag}`)) {
          error.message = `while scanning ${repository}:${tag}: ${error.message}`
        }

        throw error
      }
    }

    progress.tagsDone++
    opts.onProgress?.({...progress})
  })

  return {graph, repositories: repos, vanished}
}

/** Repositories scanned by default: `<repository>/environment` and `<repository>/model`, unless configured. */
export function defaultRepositories(repository: string, configured: string[]): string[] {
  if (configured.length > 0) return configured
  return [`${repository}/environment`, `${repository}/model`]
}
