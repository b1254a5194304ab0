import {rename} from 'node:fs/promises'
import path from 'node:path'

import type {SummaryStats} from '../analysis/graph.js'
import type {DrcConfig} from '../config/types.js'
import type {ImageAnalysisReport, LayerEntry} from './image-analysis.js'

import {makePrivateDir, writePrivateFile} from '../lib/private-files.js'
import {gib} from './format.js'
import {legacyTimestampSuffix} from './store.js'

/**
 * The predecessor's six image-analysis files, rebuilt from one `image-analysis` report so operators' scripts that
 * read them keep working. They are plain JSON with no envelope: the predecessor's shapes are the whole point.
 */

/** One layer as the predecessor wrote it: tags are `<type>:<tag>` (`environment:abc-1`, `model:def-2`). */
export interface LegacyLayer {
  environments: string[]
  size: number
  tags: string[]
}

export type LegacyLayerMap = Record<string, LegacyLayer>

export interface LegacyTagSum {
  environments: string[]
  /** Sum of the sizes of the layers only this image uses (ref_count 1): what deleting the tag alone frees. */
  size: number
}

/** The predecessor's summary (GB = 1024³, 2 decimals) next to the byte counts it is derived from. */
export type LegacySummary = SummaryStats & {shared_size_gb: number; single_use_size_gb: number; total_size_gb: number}

export interface LegacyAnalysis {
  filtered_layers: LegacyLayerMap
  image_analysis: LegacyLayerMap
  images_report: {layers: LegacyLayerMap; summary: LegacySummary}
  layers_and_sizes: Record<string, number>
  tag_sums: Record<string, LegacyTagSum>
  tags_per_layer: Record<string, number>
}

/** The `reports.*` configuration keys that name these files (`image_analysis` is `final-report.json`). */
export type LegacyFileKey = keyof LegacyAnalysis

export const LEGACY_FILE_KEYS: readonly LegacyFileKey[] = [
  'image_analysis',
  'tags_per_layer',
  'layers_and_sizes',
  'filtered_layers',
  'tag_sums',
  'images_report',
]

/** `acme/environment:e1` → `environment:e1`: the predecessor named the image type (last path segment), not the repository. */
export function legacyTag(ref: string): string {
  const colon = ref.lastIndexOf(':')
  const repository = ref.slice(0, colon)
  return `${repository.slice(repository.lastIndexOf('/') + 1)}:${ref.slice(colon + 1)}`
}

/** The environment/model id of a tag: its first `-`-separated token (as `LayerEntry.environments`). */
const tagId = (tag: string): string => tag.slice(tag.lastIndexOf(':') + 1).split('-')[0]

const legacyLayer = (l: LayerEntry): LegacyLayer => ({
  environments: [...l.environments],
  size: l.size,
  tags: [...new Set(l.tags.map((t) => legacyTag(t)))].sort(),
})

export function buildLegacyAnalysis(report: ImageAnalysisReport): LegacyAnalysis {
  const finalReport: LegacyLayerMap = {}
  const filtered: LegacyLayerMap = {}
  const tagsPerLayer: Record<string, number> = {}
  const layersAndSizes: Record<string, number> = {}
  const sums = new Map<string, {environments: Set<string>; size: number}>()
  // The report lists layers largest first; the files keep that order.
  for (const l of report.layers) {
    const layer = legacyLayer(l)
    finalReport[l.digest] = layer
    tagsPerLayer[l.digest] = l.ref_count
    layersAndSizes[l.digest] = l.size
    if (l.ref_count === 1) filtered[l.digest] = layer
    for (const tag of layer.tags) {
      // Every tag gets an entry, so a tag whose layers are all shared shows size 0 rather than vanishing.
      const sum = sums.get(tag) ?? {environments: new Set([tagId(tag)]), size: 0}
      sums.set(tag, sum)
      if (l.ref_count !== 1) continue
      sum.size += l.size
      for (const e of l.environments) sum.environments.add(e)
    }
  }

  const tagSums: Record<string, LegacyTagSum> = {}
  for (const [tag, s] of [...sums].sort((a, b) => b[1].size - a[1].size || a[0].localeCompare(b[0])))
    tagSums[tag] = {environments: [...s.environments].sort(), size: s.size}
  const s = report.summary
  return {
    filtered_layers: filtered,
    image_analysis: finalReport,
    images_report: {
      layers: finalReport,
      summary: {
        ...s,
        shared_size_gb: gib(s.shared_size_bytes),
        single_use_size_gb: gib(s.single_use_size_bytes),
        total_size_gb: gib(s.total_size_bytes),
      },
    },
    layers_and_sizes: layersAndSizes,
    tag_sums: tagSums,
    tags_per_layer: tagsPerLayer,
  }
}

/**
 * Where a `reports.*` file goes: a bare name under `analysis.output_dir`, a path with a directory as given; the
 * timestamp goes before the extension (`final-report-<ts>.json`); a name without one (`images-report`) gets `.json`.
 */
export function legacyFilePath(config: Pick<DrcConfig, 'analysis'>, configured: string, now: Date): string {
  const base = path.basename(configured) === configured ? path.join(config.analysis.output_dir, configured) : configured
  const ext = path.extname(base)
  return path.resolve(`${base.slice(0, base.length - ext.length)}-${legacyTimestampSuffix(now)}${ext || '.json'}`)
}

/**
 * Writes the six files (2-space JSON, each via a temporary file and a rename so a reader never sees half of one)
 * and returns their absolute paths by configuration key. `now` is the time in the names: pass the analysis's own
 * `generated_at`, so the files say when their data was scanned and rewriting a reused analysis is idempotent.
 */
export async function writeLegacyFiles(
  config: Pick<DrcConfig, 'analysis' | 'reports'>,
  report: ImageAnalysisReport,
  now: Date,
): Promise<Record<LegacyFileKey, string>> {
  const analysis = buildLegacyAnalysis(report)
  const written = {} as Record<LegacyFileKey, string>
  for (const key of LEGACY_FILE_KEYS) {
    const file = legacyFilePath(config, config.reports[key], now)
    const tmp = `${file}.${process.pid}.tmp`
    // eslint-disable-next-line no-await-in-loop -- six small files, in a stable order
    await makePrivateDir(path.dirname(file))
    // eslint-disable-next-line no-await-in-loop
    await writePrivateFile(tmp, `${JSON.stringify(analysis[key], null, 2)}\n`)
    // eslint-disable-next-line no-await-in-loop
    await rename(tmp, file)
    written[key] = file
  }

  return written
}
