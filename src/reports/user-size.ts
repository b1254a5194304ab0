import type {BlobGraph} from '../analysis/graph.js'

import {DrcError} from '../lib/errors.js'

/** Report `user-size-report`, schema version 1. */
export const USER_SIZE = {name: 'user-size-report', version: 1} as const

/** Owner of an image, keyed by `repository:tag`. */
export type ImageOwners = Map<string, string>

export interface OwnerSize {
  /** Bytes freed if every image of this owner were deleted (shared layers counted once, registry-wide). */
  freed_bytes: number
  images: number
  owner: string
  /** Sum of the sizes of the owner's images (a layer shared by two of their images counts twice). */
  total_bytes: number
}

/** Per-owner sizes from the blob graph; images without an owner are grouped under "(unknown)". */
export function userSizes(graph: BlobGraph, owners: ImageOwners): OwnerSize[] {
  const byOwner = new Map<string, Array<{repository: string; tag: string}>>()
  const totals = new Map<string, number>()
  for (const img of graph.imageSizes()) {
    const owner = img.tags.map((t) => owners.get(`${img.repository}:${t}`)).find(Boolean) ?? '(unknown)'
    const list = byOwner.get(owner) ?? []
    for (const tag of img.tags) list.push({repository: img.repository, tag})
    byOwner.set(owner, list)
    totals.set(owner, (totals.get(owner) ?? 0) + img.totalBytes)
  }

  return [...byOwner]
    .map(([owner, sel]) => ({
      freed_bytes: graph.freedBytes(sel).bytes,
      images: new Set(sel.map((s) => `${s.repository}:${s.tag}`)).size,
      owner,
      total_bytes: totals.get(owner)!,
    }))
    .sort((a, b) => b.freed_bytes - a.freed_bytes || a.owner.localeCompare(b.owner))
}

/**
 * JOIN POINT (usage graph, src/usage): owners of environment/model images come from MongoDB (environment →
 * owner / project owner, model → project owner). Until the usage module exposes that lookup, this refuses
 * rather than inventing owners.
 */
export async function loadImageOwners(): Promise<ImageOwners> {
  throw new DrcError('user-size needs image owners from MongoDB, which this build cannot read yet', {
    suggestions: [
      'use `drc report image-size` for per-image sizes',
      'owners will come from the usage graph (src/usage)',
    ],
  })
}
