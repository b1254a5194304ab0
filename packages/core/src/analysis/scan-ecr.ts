import type {EcrBackend} from '../registry/ecr-backend.js'

import {actualDigest, parseDigest} from '../registry/digest.js'
import {DigestMismatchError, NotFoundError} from '../registry/errors.js'
import {mapLimit} from '../registry/map-limit.js'
import {MediaType, parseManifest} from '../registry/media-types.js'
import {BlobGraph, type ManifestNode} from './graph.js'
import {type ScanOptions, type ScanProgress, type ScanResult, SKIPPED_TAGS, toNode} from './scan.js'

const ACCEPTED = Object.values(MediaType)

/** ECR's error name for a repository that does not exist: an empty repository, as on a plain registry. */
function isMissingRepository(error: unknown): boolean {
  return (error as {name?: string})?.name === 'RepositoryNotFoundException'
}

/**
 * Scans ECR repositories through the ECR API instead of one registry request per tag: DescribeImages lists every
 * tag → digest in bulk (1,000 images per call), and BatchGetImage fetches the manifests the disk cache does not
 * hold (100 per call), index children included. A warm scan therefore costs one DescribeImages call per 1,000
 * images and nothing per tag. The resulting graph is the same as `scanRegistry` builds for the same images.
 * Untagged images are not scanned unless an index lists them, exactly as with the registry API.
 */
export async function scanEcr(backend: EcrBackend, opts: ScanOptions): Promise<ScanResult> {
  const graph = new BlobGraph()
  const cache = opts.cache ?? null
  const vanished: ScanResult['vanished'] = []
  const repos: ScanResult['repositories'] = []
  const listed: Array<{repository: string; tagsOf: Map<string, string[]>}> = []
  let total = 0
  for (const repository of opts.repositories) {
    opts.signal?.throwIfAborted()
    let images: Awaited<ReturnType<EcrBackend['listImages']>>
    try {
      // eslint-disable-next-line no-await-in-loop
      images = await backend.listImages(repository)
    } catch (error) {
      if (opts.signal?.aborted) throw opts.signal.reason
      if (!isMissingRepository(error)) throw error
      images = []
    }

    const tagsOf = new Map<string, string[]>()
    let count = 0
    for (const image of images) {
      const tags = image.tags.filter((t) => !SKIPPED_TAGS.has(t) && (!opts.tagFilter || opts.tagFilter(t)))
      if (tags.length === 0) continue
      tagsOf.set(image.digest, [...(tagsOf.get(image.digest) ?? []), ...tags])
      count += tags.length
    }

    repos.push({repository, tags: count})
    listed.push({repository, tagsOf})
    total += count
    opts.onProgress?.({repositories: repos.length, tagsDone: 0, tagsTotal: total})
  }

  const progress: ScanProgress = {repositories: repos.length, tagsDone: 0, tagsTotal: total}
  if (repos.length === 0) opts.onProgress?.({...progress})
  /** Digests already in the graph (manifests are keyed by digest registry-wide). */
  const known = new Set<string>()

  for (const {repository, tagsOf} of listed) {
    /** For errors about an index child: the tag that led to it. */
    const via = new Map<string, string>()
    for (const [digest, tags] of tagsOf) via.set(digest, `${repository}:${tags[0]}`)
    let pending = [...tagsOf.keys()]
    let topLevel = true
    while (pending.length > 0) {
      const nodes: ManifestNode[] = []
      const need: string[] = []
      for (const digest of pending) {
        if (known.has(digest)) continue
        // eslint-disable-next-line no-await-in-loop
        const hit = await cache?.get(digest)
        if (hit) nodes.push(toNode(digest, hit.body.length, parseManifest(hit.body, hit.mediaType, via.get(digest)!)))
        else need.push(digest)
      }

      const chunks: string[][] = []
      for (let i = 0; i < need.length; i += 100) chunks.push(need.slice(i, i + 100))
      // eslint-disable-next-line no-await-in-loop
      const answers = await mapLimit(chunks, opts.concurrency, async (chunk) => {
        opts.signal?.throwIfAborted()
        try {
          return await backend.getManifests(repository, chunk, ACCEPTED)
        } catch (error) {
          if (opts.signal?.aborted) throw opts.signal.reason
          throw error
        }
      })
      const missing = new Set<string>()
      for (const answer of answers) {
        for (const m of answer.found) {
          const ref = via.get(m.digest) ?? `${repository}@${m.digest}`
          // Same integrity rule as the registry client: the bytes must hash to the digest ECR names them by.
          const actual = actualDigest(m.body, parseDigest(m.digest, `ECR digest of ${ref}`))
          if (actual !== m.digest) {
            throw new DigestMismatchError(
              {method: 'BatchGetImage', reference: m.digest, repository, url: 'ECR API'},
              m.digest,
              actual,
            )
          }

          // eslint-disable-next-line no-await-in-loop
          await cache?.put(m.digest, {body: m.body, mediaType: m.mediaType})
          nodes.push(toNode(m.digest, m.body.length, parseManifest(m.body, m.mediaType, ref)))
        }

        for (const d of answer.missing) missing.add(d)
      }

      const next: string[] = []
      for (const node of nodes) {
        graph.addManifest(node)
        known.add(node.digest)
        for (const child of node.manifests ?? []) {
          if (known.has(child.digest) || via.has(child.digest)) continue
          via.set(child.digest, `${via.get(node.digest) ?? repository} → ${child.digest}`)
          next.push(child.digest)
        }
      }

      for (const digest of missing) {
        // A listed image deleted before we read it is a concurrent delete, as with a vanished tag on the registry.
        if (topLevel) {
          for (const tag of tagsOf.get(digest) ?? []) {
            vanished.push({repository, tag})
            opts.onVanished?.(repository, tag)
          }

          tagsOf.delete(digest)
          continue
        }

        const error = new NotFoundError({method: 'BatchGetImage', reference: digest, repository, url: 'ECR API'})
        error.message = `while scanning ${via.get(digest)}: ${error.message}`
        throw error
      }

      if (topLevel) {
        for (const [digest, tags] of tagsOf) {
          for (const tag of tags) graph.addTag(repository, tag, digest)
          progress.tagsDone += tags.length
        }

        opts.onProgress?.({...progress})
      }

      pending = next
      topLevel = false
    }
  }

  return {graph, repositories: repos, vanished}
}
