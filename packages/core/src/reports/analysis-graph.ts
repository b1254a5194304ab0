/** The blob graph that goes with an image analysis report: rebuilt from the manifest cache, or scanned again. */
import type {BlobGraph} from '../analysis/graph.js'
import type {DrcConfig} from '../config/types.js'
import type {ImageAnalysisReport} from './image-analysis.js'
import type {ObtainedAnalysis, ObtainOptions} from './obtain.js'

import {toNode} from '../analysis/scan.js'

/**
 * The blob graph of a reused image analysis, rebuilt offline from its tag → digest list and the on-disk
 * manifest cache (manifests are immutable, so this is the graph the scan built). Null when the cache is off
 * or misses a manifest: the caller then scans again.
 */
export async function graphFromAnalysis(config: DrcConfig, report: ImageAnalysisReport): Promise<BlobGraph | null> {
  const [{BlobGraph}, {ManifestCache}, {parseManifest}] = await Promise.all([
    import('../analysis/graph.js'),
    import('../registry/manifest-cache.js'),
    import('../registry/media-types.js'),
  ])
  const cache = ManifestCache.forConfig(config)
  if (!cache) return null
  const graph = new BlobGraph()
  const added = new Set<string>()
  const add = async (digest: string, ref: string): Promise<boolean> => {
    if (added.has(digest)) return true
    const hit = await cache.get(digest)
    if (!hit) return false
    const m = parseManifest(hit.body, hit.mediaType, ref)
    graph.addManifest(toNode(digest, hit.body.length, m))
    added.add(digest)
    if (m.kind === 'image') return true
    const children = await Promise.all(m.manifests.map((c) => add(c.digest, `${ref} → ${c.digest}`)))
    return children.every(Boolean)
  }

  const found = await Promise.all(report.images.map((img) => add(img.digest, `${img.repository}@${img.digest}`)))
  if (!found.every(Boolean)) return null
  for (const img of report.images) for (const tag of img.tags) graph.addTag(img.repository, tag, img.digest)
  return graph
}

export interface AnalysisWithGraph {
  analysis: ObtainedAnalysis
  graph: BlobGraph
}

/**
 * The image analysis (reused when fresh, like `drc reports`) together with its blob graph. A reused analysis
 * whose manifests are not all in the cache is scanned again (and written as a new report).
 */
export async function obtainAnalysisGraph(config: DrcConfig, opts: ObtainOptions): Promise<AnalysisWithGraph> {
  const {obtainImageAnalysis} = await import('./obtain.js')
  const analysis = await obtainImageAnalysis(config, opts)
  if (analysis.run) return {analysis, graph: analysis.run.graph}
  const graph = await graphFromAnalysis(config, analysis.report)
  if (graph) return {analysis, graph}
  const again = await obtainImageAnalysis(config, {...opts, generate: true})
  return {analysis: again, graph: again.run!.graph}
}
