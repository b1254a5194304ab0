import type {SummaryStats} from '../analysis/graph.js'
import type {AnalysisRun, AnalysisStats} from '../analysis/service.js'

/** Report `image-analysis`, schema version 1: the registry's images, layers and sharing. */
export const IMAGE_ANALYSIS = {name: 'image-analysis', version: 1} as const

export interface ImageEntry {
  digest: string
  kind: 'image' | 'index'
  layers: number
  repository: string
  shared_bytes: number
  tags: string[]
  total_bytes: number
  /** Freed if this image alone were deleted. */
  unique_bytes: number
}

export interface LayerEntry {
  digest: string
  /** First `-`-separated token of each tag: the environment/model id (predecessor's "environments"). */
  environments: string[]
  ref_count: number
  size: number
  tags: string[]
}

export interface ImageAnalysisReport {
  images: ImageEntry[]
  layers: LayerEntry[]
  registry_url: string
  repositories: Array<{repository: string; tags: number}>
  scan: AnalysisStats & {vanished_tags: string[]}
  summary: SummaryStats
}

export function buildImageAnalysisReport(run: AnalysisRun): ImageAnalysisReport {
  const images = run.graph
    .imageSizes()
    .map((i) => ({
      digest: i.digest,
      kind: i.kind,
      layers: i.layers,
      repository: i.repository,
      shared_bytes: i.sharedBytes,
      tags: i.tags,
      total_bytes: i.totalBytes,
      unique_bytes: i.uniqueBytes,
    }))
    .sort(
      (a, b) =>
        b.total_bytes - a.total_bytes || a.repository.localeCompare(b.repository) || a.tags[0].localeCompare(b.tags[0]),
    )
  const layers = run.graph
    .layers()
    .map((l) => ({
      digest: l.digest,
      environments: [...new Set(l.tags.map((t) => t.slice(t.lastIndexOf(':') + 1).split('-')[0]))].sort(),
      ref_count: l.refCount,
      size: l.size,
      tags: [...new Set(l.tags)].sort(),
    }))
    .sort((a, b) => b.size - a.size || a.digest.localeCompare(b.digest))
  return {
    images,
    layers,
    registry_url: run.registryUrl,
    repositories: run.repositories,
    scan: {...run.stats, vanished_tags: run.vanished.map((v) => `${v.repository}:${v.tag}`)},
    summary: run.graph.summary(),
  }
}
