import path from 'node:path'

import type {DrcConfig} from '../config/types.js'
import type {SourceStatus} from './reader.js'
import type {ImageType, Owner, TagUsage, UsageRules, UsageSource} from './types.js'

import {UsageGraph} from './graph.js'

/** Schema version of the usage report's `data` (the envelope of src/reports/store.ts carries name and version). */
export const USAGE_REPORT_VERSION = 1

export interface TagUsageRecord {
  archived: boolean
  createdAt: null | string
  environmentId?: string
  imageType: ImageType
  /** Verdict under the report's `rules`; readers with other rules re-evaluate from `sources` and `createdAt`. */
  inUse: boolean
  lastUsed: null | string
  /** The lookup key (environment: the tag; model: `<modelId>-vN`), so a reader can rebuild the graph. */
  matchKey: string
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

/** `data` of the usage report. The builder refuses on any unreadable source, so a written report is complete. */
export interface UsageReport {
  /** When MongoDB was read (UTC); running workspaces count as used at this instant. */
  builtAt: string
  database: string
  rules: {gracePeriodDays: number; now: string; unusedSinceDays: null | number}
  sources: SourceStatus[]
  summary: {environmentTags: number; inUse: number; modelTags: number; unused: number}
  tags: TagUsageRecord[]
}

const iso = (d: Date | null) => (d ? d.toISOString() : null)
const date = (s: null | string) => (s ? new Date(s) : null)

/**
 * The report name: the stem of `reports.mongodb_usage` (default `mongodb_usage_report`), so files are
 * `<stem>-<UTC timestamp>.json` with `<stem>-latest.json` pointing at the newest.
 */
export function usageReportName(config: Pick<DrcConfig, 'reports'>): string {
  const file = path.basename(config.reports.mongodb_usage)
  return file.endsWith('.json') ? file.slice(0, -5) : file
}

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
      matchKey: u.matchKey,
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
    builtAt: graph.builtAt.toISOString(),
    database,
    rules: {
      gracePeriodDays: rules.gracePeriodDays,
      now: rules.now.toISOString(),
      unusedSinceDays: rules.unusedSinceDays ?? null,
    },
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

/**
 * The usage graph a report was made from: every tag with its sources and creation time, so a reused report is
 * evaluated under the caller's rules (not the ones it was written with) through the same predicate.
 */
export function graphFromReport(report: UsageReport): UsageGraph {
  const environments = new Map<string, TagUsage>()
  const models = new Map<string, TagUsage>()
  for (const t of report.tags) {
    const usage: TagUsage = {
      archived: t.archived,
      createdAt: date(t.createdAt),
      environmentId: t.environmentId,
      imageType: t.imageType,
      matchKey: t.matchKey,
      modelId: t.modelId,
      modelVersionId: t.modelVersionId,
      name: t.name,
      owner: t.owner,
      repository: t.repository,
      revisionId: t.revisionId,
      sources: t.sources.map((s) => ({...s, lastUsed: date(s.lastUsed)})),
      tag: t.tag,
    }
    if (t.imageType === 'environment') environments.set(t.matchKey, usage)
    else models.set(t.matchKey, usage)
  }

  // A report does not record revisions (no `revisions`): the clone chain rule needs a graph read from MongoDB.
  return new UsageGraph({builtAt: new Date(report.builtAt), environments, models, sources: report.sources})
}
