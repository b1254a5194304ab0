/**
 * The join of the MongoDB usage graph with the registry's blob graph: which registry tags are used, unused or
 * unknown to MongoDB, what deleting the unused ones would free, and who owns the space.
 */
import type {BlobGraph, ImageSelector, Revision} from '../analysis/graph.js'
import type {UsageGraph} from './graph.js'
import type {ImageType, Owner, UsageRules} from './types.js'

import {evaluateUsage} from './predicate.js'

/** `<repo>/environment` → environment, `<repo>/model` → model; any other repository is not Domino's. */
export function imageTypeOf(repository: string): ImageType | null {
  const last = repository.slice(repository.lastIndexOf('/') + 1)
  return last === 'environment' || last === 'model' ? last : null
}

export type TagStatus = 'unknown' | 'unused' | 'used'

/**
 * Used / unused under `rules`, or unknown: a registry tag MongoDB has no record of is never "unused" (it may
 * belong to another deployment, or its documents may be gone); deciding about it needs a human.
 */
export function tagStatus(usage: UsageGraph, repository: string, tag: string, rules: UsageRules): TagStatus {
  const type = imageTypeOf(repository)
  const found = type ? usage.lookup(type, tag) : undefined
  if (!found) return 'unknown'
  return evaluateUsage(found, rules).inUse ? 'used' : 'unused'
}

/** Distinct bytes of every blob the revisions need (manifests, index children, configs, layers): shared ones once. */
export function distinctBytes(graph: BlobGraph, revisions: Iterable<Pick<Revision, 'digest'>>): number {
  const sizes = new Map<string, number>()
  const visit = (digest: string, size?: number): void => {
    if (sizes.has(digest)) return
    const m = graph.manifest(digest)
    sizes.set(digest, m?.size ?? size ?? 0)
    if (!m) return
    if (m.config) sizes.set(m.config.digest, m.config.size)
    for (const l of m.layers ?? []) sizes.set(l.digest, l.size)
    for (const c of m.manifests ?? []) visit(c.digest, c.size)
  }

  for (const r of revisions) visit(r.digest)
  let total = 0
  for (const n of sizes.values()) total += n
  return total
}

export interface StatusBytes {
  /** Distinct bytes of the images these tags point to (a blob shared between two of them counts once). */
  bytes: number
  tags: number
}

export interface RepositoryUsage {
  image_type: ImageType | null
  repository: string
  tags: number
  /** Tags MongoDB does not know: reported, never counted as unused. */
  unknown: StatusBytes
  unused: StatusBytes & {
    /** Bytes garbage collection would free if every unused tag of this repository were deleted. */
    freed_bytes: number
    /** Unused tags whose digest stays because a used or unknown tag points at it too (they free nothing). */
    kept_by_other_tags: number
  }
  used: StatusBytes
}

export interface OwnerSize {
  /** Bytes the owner's images need together: a layer shared by two of their images counts once. */
  distinct_bytes: number
  /** Bytes freed if every image of this owner were deleted (shared layers counted once, registry-wide). */
  freed_bytes: number
  /** Distinct images (two tags on one digest are one image). */
  images: number
  login_id: null | string
  /** Display name: login, else full name, else id; `(unknown)` when no owner is known. */
  owner: string
  tags: number
  /** Sum of the total sizes of the owner's images (a layer shared by two of their images counts twice). */
  total_bytes: number
  /** Null for images without a known owner. */
  user_id: null | string
  user_name: null | string
}

export interface TagUsageSummary {
  repositories: RepositoryUsage[]
  rules: {grace_period_days: number; now: string; unused_since_days: null | number}
  /** Space by owner, largest total first (the first `top` of them). */
  top_users: OwnerSize[]
  total: {
    tags: number
    unknown: StatusBytes
    /** `freed_bytes` over all repositories together (a layer shared by unused images of two repositories is freed). */
    unused: StatusBytes & {freed_bytes: number; kept_by_other_tags: number}
    used: StatusBytes
  }
  usage_report: {generated_at: string; path: string; reused: boolean}
}

/** Owner of each registry image, keyed by `repository:tag`, from the usage graph. */
export type ImageOwners = Map<string, Owner>

export function imageOwners(usage: UsageGraph, graph: BlobGraph): ImageOwners {
  const owners: ImageOwners = new Map()
  for (const rev of graph.listRevisions()) {
    const type = imageTypeOf(rev.repository)
    if (!type) continue
    for (const tag of rev.tags) {
      const owner = usage.lookup(type, tag)?.owner
      if (owner) owners.set(`${rev.repository}:${tag}`, owner)
    }
  }

  return owners
}

const UNKNOWN = '(unknown)'

/** Per-owner sizes from the blob graph; images without an owner are grouped under "(unknown)". */
export function userSizes(graph: BlobGraph, owners: ImageOwners): OwnerSize[] {
  const groups = new Map<
    string,
    {digests: Array<{digest: string}>; images: number; owner: null | Owner; selectors: ImageSelector[]; total: number}
  >()
  for (const img of graph.imageSizes()) {
    const owner = img.tags.map((t) => owners.get(`${img.repository}:${t}`)).find(Boolean) ?? null
    const key = owner?.id ?? UNKNOWN
    const group = groups.get(key) ?? {digests: [], images: 0, owner, selectors: [], total: 0}
    group.digests.push({digest: img.digest})
    for (const tag of img.tags) group.selectors.push({repository: img.repository, tag})
    // Two tags on one digest are one image: its size counts once.
    group.images++
    group.total += img.totalBytes
    groups.set(key, group)
  }

  return [...groups.values()]
    .map((g) => ({
      distinct_bytes: distinctBytes(graph, g.digests),
      freed_bytes: graph.freedBytes(g.selectors).bytes,
      images: g.images,
      login_id: g.owner?.login ?? null,
      owner: g.owner ? (g.owner.login ?? g.owner.name ?? g.owner.id) : UNKNOWN,
      tags: g.selectors.length,
      total_bytes: g.total,
      user_id: g.owner?.id ?? null,
      user_name: g.owner?.name ?? null,
    }))
    .sort((a, b) => b.total_bytes - a.total_bytes || b.freed_bytes - a.freed_bytes || a.owner.localeCompare(b.owner))
}

/** Used / unused / unknown tags and bytes per repository, what deleting the unused would free, and top owners. */
export function tagUsageSummary(
  usage: UsageGraph,
  graph: BlobGraph,
  rules: UsageRules,
  opts: {report: TagUsageSummary['usage_report']; top: number},
): TagUsageSummary {
  interface Acc {
    revs: Record<TagStatus, Map<string, Revision>>
    tags: Record<TagStatus, number>
    unused: ImageSelector[]
  }
  const byRepo = new Map<string, Acc>()
  const all: Acc = {
    revs: {unknown: new Map(), unused: new Map(), used: new Map()},
    tags: {unknown: 0, unused: 0, used: 0},
    unused: [],
  }
  for (const rev of graph.listRevisions()) {
    if (rev.tags.length === 0) continue
    let acc = byRepo.get(rev.repository)
    if (!acc) {
      acc = {
        revs: {unknown: new Map(), unused: new Map(), used: new Map()},
        tags: {unknown: 0, unused: 0, used: 0},
        unused: [],
      }
      byRepo.set(rev.repository, acc)
    }

    for (const tag of rev.tags) {
      const status = tagStatus(usage, rev.repository, tag, rules)
      for (const a of [acc, all]) {
        a.tags[status]++
        a.revs[status].set(rev.key, rev)
        if (status === 'unused') a.unused.push({repository: rev.repository, tag})
      }
    }
  }

  const part = (a: Acc, status: TagStatus): StatusBytes => ({
    bytes: distinctBytes(graph, a.revs[status].values()),
    tags: a.tags[status],
  })
  const unusedPart = (a: Acc) => {
    const freed = graph.freedBytes(a.unused)
    return {...part(a, 'unused'), freed_bytes: freed.bytes, kept_by_other_tags: freed.keptBecauseOfOtherTags.length}
  }

  const repositories = [...byRepo]
    .map(([repository, a]) => ({
      image_type: imageTypeOf(repository),
      repository,
      tags: a.tags.used + a.tags.unused + a.tags.unknown,
      unknown: part(a, 'unknown'),
      unused: unusedPart(a),
      used: part(a, 'used'),
    }))
    .sort((x, y) => x.repository.localeCompare(y.repository))
  return {
    repositories,
    rules: {
      grace_period_days: rules.gracePeriodDays,
      now: rules.now.toISOString(),
      unused_since_days: rules.unusedSinceDays ?? null,
    },
    top_users: userSizes(graph, imageOwners(usage, graph)).slice(0, opts.top),
    total: {
      tags: all.tags.used + all.tags.unused + all.tags.unknown,
      unknown: part(all, 'unknown'),
      unused: unusedPart(all),
      used: part(all, 'used'),
    },
    usage_report: opts.report,
  }
}
