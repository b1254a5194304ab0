import {mkdir, rename, writeFile} from 'node:fs/promises'
import path from 'node:path'

import type {UsageGraph} from './graph.js'
import type {SourceStatus} from './reader.js'
import type {ImageType, Owner, UsageRules, UsageSource} from './types.js'

export interface TagUsageRecord {
  archived: boolean
  createdAt: null | string
  environmentId?: string
  imageType: ImageType
  inUse: boolean
  lastUsed: null | string
  modelId?: string
  modelVersionId?: string
  name?: string
  owner: null | Owner
  reasons: string[]
  repository: string
  revisionId?: string
  sources: Array<Omit<UsageSource, 'lastUsed'> & {lastUsed: null | string}>
  summary: string
  tag: string
}

export interface UsageReport {
  /** False would mean a source was skipped; the builder refuses instead, so a written report is always complete. */
  complete: true
  database: string
  generatedAt: string
  rules: {gracePeriodDays: number; now: string; unusedSinceDays: null | number}
  schema: 'drc.usage-report/v1'
  sources: SourceStatus[]
  summary: {environmentTags: number; inUse: number; modelTags: number; unused: number}
  tags: TagUsageRecord[]
}

const iso = (d: Date | null) => (d ? d.toISOString() : null)

/** The usage report: every known tag with its users, reasons and verdict under `rules`. */
export function usageReport(graph: UsageGraph, rules: UsageRules, database: string): UsageReport {
  const tags: TagUsageRecord[] = []
  for (const u of graph.all()) {
    const v = graph.evaluate(u.imageType, u.tag, rules)
    tags.push({
      archived: u.archived,
      createdAt: iso(u.createdAt),
      environmentId: u.environmentId,
      imageType: u.imageType,
      inUse: v.inUse,
      lastUsed: iso(v.lastUsed),
      modelId: u.modelId,
      modelVersionId: u.modelVersionId,
      name: u.name,
      owner: u.owner,
      reasons: v.reasons,
      repository: u.repository,
      revisionId: u.revisionId,
      sources: u.sources.map((s) => ({...s, lastUsed: iso(s.lastUsed)})),
      summary: v.summary,
      tag: u.tag,
    })
  }

  const inUse = tags.filter((t) => t.inUse).length
  return {
    complete: true,
    database,
    generatedAt: graph.builtAt.toISOString(),
    rules: {
      gracePeriodDays: rules.gracePeriodDays,
      now: rules.now.toISOString(),
      unusedSinceDays: rules.unusedSinceDays ?? null,
    },
    schema: 'drc.usage-report/v1',
    sources: graph.data.sources,
    summary: {
      environmentTags: tags.filter((t) => t.imageType === 'environment').length,
      inUse,
      modelTags: tags.filter((t) => t.imageType === 'model').length,
      unused: tags.length - inUse,
    },
    tags,
  }
}

/** `YYYY-MM-DD-HH-MM-SS` in UTC (the predecessor used local time; domain-spec §6.3 #32). */
export function utcStamp(d: Date): string {
  return d.toISOString().slice(0, 19).replaceAll(/[:T]/g, '-')
}

/**
 * Writes `<dir>/<stem>-<UTC ts>.json` and refreshes `<dir>/<stem>.json` as the latest copy, each atomically.
 * Interim: src/reports/ (timestamped files, latest pointer, freshness) is being written elsewhere; when it
 * lands, this function should delegate to it.
 */
export async function writeJsonReport(
  dir: string,
  fileName: string,
  data: unknown,
  at: Date,
): Promise<{latest: string; path: string}> {
  await mkdir(dir, {recursive: true})
  const ext = path.extname(fileName) || '.json'
  const stem = path.basename(fileName, ext)
  const text = `${JSON.stringify(data, null, 2)}\n`
  const stamped = path.join(dir, `${stem}-${utcStamp(at)}${ext}`)
  const latest = path.join(dir, `${stem}${ext}`)
  for (const target of [stamped, latest]) {
    const tmp = `${target}.tmp-${process.pid}`
    // eslint-disable-next-line no-await-in-loop -- sequential on purpose (order, bounded memory)
    await writeFile(tmp, text)
    // eslint-disable-next-line no-await-in-loop -- sequential on purpose (order, bounded memory)
    await rename(tmp, target)
  }

  return {latest, path: stamped}
}
