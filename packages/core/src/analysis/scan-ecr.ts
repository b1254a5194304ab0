import type {EcrBackend, EcrManifest} from '../registry/ecr-backend.js'
import type {ManifestCache} from '../registry/manifest-cache.js'

import {actualDigest, parseDigest} from '../registry/digest.js'
import {DigestMismatchError, NotFoundError} from '../registry/errors.js'
import {mapLimit} from '../registry/map-limit.js'
import {MediaType, parseManifest} from '../registry/media-types.js'
import {BlobGraph, type ManifestNode} from './graph.js'
import {type ScanOptions, type ScanProgress, type ScanResult, SKIPPED_TAGS, toNode} from './scan.js'

const ACCEPTED = Object.values(MediaType)

type EcrImage = Awaited<ReturnType<EcrBackend['listImages']>>[number]

/** One repository's tagged images: digest → kept tags. */
interface Listed {
  repository: string
  tagsOf: Map<string, string[]>
}

/** State shared by every repository of one ECR scan. */
interface EcrScan {
  backend: EcrBackend
  cache: ManifestCache | null
  graph: BlobGraph
  /** Digests already in the graph (manifests are keyed by digest registry-wide). */
  known: Set<string>
  opts: ScanOptions
  progress: ScanProgress
  vanished: ScanResult['vanished']
}

/** One repository being read: its listing, and for errors about an index child the tag that led to it. */
interface RepoScan extends Listed {
  via: Map<string, string>
}

/** Manifests read in one round, and the digests ECR no longer has. */
interface Round {
  missing: Set<string>
  nodes: ManifestNode[]
}

/** ECR's error name for a repository that does not exist: an empty repository, as on a plain registry. */
function isMissingRepository(error: unknown): boolean {
  return (error as {name?: string})?.name === 'RepositoryNotFoundException'
}

/** Tag lists of every repository (skipped and filtered-out tags dropped), reporting progress per repository. */
async function listRepositories(
  backend: EcrBackend,
  opts: ScanOptions,
): Promise<{listed: Listed[]; repos: ScanResult['repositories']; total: number}> {
  const repos: ScanResult['repositories'] = []
  const listed: Listed[] = []
  let total = 0
  for (const repository of opts.repositories) {
    opts.signal?.throwIfAborted()
    let images: EcrImage[]
    try {
      // eslint-disable-next-line no-await-in-loop
      images = await backend.listImages(repository)
    } catch (error) {
      if (opts.signal?.aborted) throw opts.signal.reason
      if (!isMissingRepository(error)) throw error
      images = []
    }

    const {count, tagsOf} = keptTags(images, opts)
    repos.push({repository, tags: count})
    listed.push({repository, tagsOf})
    total += count
    opts.onProgress?.({repositories: repos.length, tagsDone: 0, tagsTotal: total})
  }

  return {listed, repos, total}
}

function keptTags(images: readonly EcrImage[], opts: ScanOptions): {count: number; tagsOf: Map<string, string[]>} {
  const tagsOf = new Map<string, string[]>()
  let count = 0
  for (const image of images) {
    const tags = image.tags.filter((t) => !SKIPPED_TAGS.has(t) && (!opts.tagFilter || opts.tagFilter(t)))
    if (tags.length === 0) continue
    tagsOf.set(image.digest, [...(tagsOf.get(image.digest) ?? []), ...tags])
    count += tags.length
  }

  return {count, tagsOf}
}

/** Manifests of `pending` not yet in the graph: from the disk cache, else BatchGetImage (100 per call). */
async function readRound(scan: EcrScan, repo: RepoScan, pending: readonly string[]): Promise<Round> {
  const nodes: ManifestNode[] = []
  const need: string[] = []
  for (const digest of pending) {
    if (scan.known.has(digest)) continue
    // eslint-disable-next-line no-await-in-loop
    const hit = await scan.cache?.get(digest)
    if (hit) nodes.push(toNode(digest, hit.body.length, parseManifest(hit.body, hit.mediaType, repo.via.get(digest)!)))
    else need.push(digest)
  }

  const chunks: string[][] = []
  for (let i = 0; i < need.length; i += 100) chunks.push(need.slice(i, i + 100))
  const {opts} = scan
  const answers = await mapLimit(chunks, opts.concurrency, async (chunk) => {
    opts.signal?.throwIfAborted()
    try {
      return await scan.backend.getManifests(repo.repository, chunk, ACCEPTED)
    } catch (error) {
      if (opts.signal?.aborted) throw opts.signal.reason
      throw error
    }
  })
  const missing = new Set<string>()
  for (const answer of answers) {
    for (const m of answer.found) {
      // eslint-disable-next-line no-await-in-loop
      nodes.push(await verifiedNode(scan, repo, m))
    }

    for (const d of answer.missing) missing.add(d)
  }

  return {missing, nodes}
}

/** Checks a fetched manifest against its digest, caches it and turns it into a graph node. */
async function verifiedNode(scan: EcrScan, repo: RepoScan, m: EcrManifest): Promise<ManifestNode> {
  const {repository} = repo
  const ref = repo.via.get(m.digest) ?? `${repository}@${m.digest}`
  // Same integrity rule as the registry client: the bytes must hash to the digest ECR names them by.
  const actual = actualDigest(m.body, parseDigest(m.digest, `ECR digest of ${ref}`))
  if (actual !== m.digest) {
    throw new DigestMismatchError(
      {method: 'BatchGetImage', reference: m.digest, repository, url: 'ECR API'},
      m.digest,
      actual,
    )
  }

  await scan.cache?.put(m.digest, {body: m.body, mediaType: m.mediaType})
  return toNode(m.digest, m.body.length, parseManifest(m.body, m.mediaType, ref))
}

/** Adds a round's manifests to the graph; returns the index children still to read. */
function addNodes(scan: EcrScan, repo: RepoScan, nodes: readonly ManifestNode[]): string[] {
  const next: string[] = []
  for (const node of nodes) {
    scan.graph.addManifest(node)
    scan.known.add(node.digest)
    for (const child of node.manifests ?? []) {
      if (scan.known.has(child.digest) || repo.via.has(child.digest)) continue
      repo.via.set(child.digest, `${repo.via.get(node.digest) ?? repo.repository} → ${child.digest}`)
      next.push(child.digest)
    }
  }

  return next
}

/**
 * A listed image deleted before we read it is a concurrent delete, as with a vanished tag on the registry.
 * A missing index child is an error: the graph would under-count references.
 */
function handleMissing(scan: EcrScan, repo: RepoScan, missing: ReadonlySet<string>, topLevel: boolean): void {
  const {repository, tagsOf} = repo
  for (const digest of missing) {
    if (!topLevel) {
      const error = new NotFoundError({method: 'BatchGetImage', reference: digest, repository, url: 'ECR API'})
      error.message = `while scanning ${repo.via.get(digest)}: ${error.message}`
      throw error
    }

    for (const tag of tagsOf.get(digest) ?? []) {
      scan.vanished.push({repository, tag})
      scan.opts.onVanished?.(repository, tag)
    }

    tagsOf.delete(digest)
  }
}

/** Reads one repository's tagged manifests, then their index children level by level. */
async function scanRepository(scan: EcrScan, {repository, tagsOf}: Listed): Promise<void> {
  const repo: RepoScan = {repository, tagsOf, via: new Map()}
  for (const [digest, tags] of tagsOf) repo.via.set(digest, `${repository}:${tags[0]}`)
  let pending = [...tagsOf.keys()]
  let topLevel = true
  while (pending.length > 0) {
    // eslint-disable-next-line no-await-in-loop
    const {missing, nodes} = await readRound(scan, repo, pending)
    const next = addNodes(scan, repo, nodes)
    handleMissing(scan, repo, missing, topLevel)
    if (topLevel) {
      for (const [digest, tags] of tagsOf) {
        for (const tag of tags) scan.graph.addTag(repository, tag, digest)
        scan.progress.tagsDone += tags.length
      }

      scan.opts.onProgress?.({...scan.progress})
    }

    pending = next
    topLevel = false
  }
}

/**
 * Scans ECR repositories through the ECR API instead of one registry request per tag: DescribeImages lists every
 * tag → digest in bulk (1,000 images per call), and BatchGetImage fetches the manifests the disk cache does not
 * hold (100 per call), index children included. A warm scan therefore costs one DescribeImages call per 1,000
 * images and nothing per tag. The resulting graph is the same as `scanRegistry` builds for the same images.
 * Untagged images are not scanned unless an index lists them, exactly as with the registry API.
 */
export async function scanEcr(backend: EcrBackend, opts: ScanOptions): Promise<ScanResult> {
  const {listed, repos, total} = await listRepositories(backend, opts)
  const progress: ScanProgress = {repositories: repos.length, tagsDone: 0, tagsTotal: total}
  if (repos.length === 0) opts.onProgress?.({...progress})
  const scan: EcrScan = {
    backend,
    cache: opts.cache ?? null,
    graph: new BlobGraph(),
    known: new Set(),
    opts,
    progress,
    vanished: [],
  }
  for (const entry of listed) {
    // eslint-disable-next-line no-await-in-loop
    await scanRepository(scan, entry)
  }

  return {graph: scan.graph, repositories: repos, vanished: scan.vanished}
}
