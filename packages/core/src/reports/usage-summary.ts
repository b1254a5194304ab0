/** The image analysis joined with MongoDB usage: what `drc reports` and `drc report html` both start from. */
import type {BlobGraph} from '../analysis/graph.js'
import type {DrcConfig} from '../config/types.js'
import type {UsageRules} from '../usage/types.js'
import type {ObtainedAnalysis, ObtainOptions} from './obtain.js'

import {tagUsageSummary, type TagUsageSummary} from '../usage/join.js'
import {obtainAnalysisGraph} from './analysis-graph.js'
import {type ObtainedUsage, obtainUsage} from './usage-report.js'

export interface UsageSummaryOptions extends ObtainOptions {
  /** Largest images and owners to list. */
  top: number
  /** Run and workspace usage older than this many days no longer counts as use. */
  unusedSinceDays?: number
}

export interface ObtainedUsageSummary {
  analysis: ObtainedAnalysis
  graph: BlobGraph
  rules: UsageRules
  summary: TagUsageSummary
  usage: ObtainedUsage
}

/**
 * Usage report and image analysis (each reused when fresh) and their join. MongoDB is read first: if a usage
 * source cannot be read, this fails before a long scan and before any report is written.
 */
export async function obtainUsageSummary(config: DrcConfig, opts: UsageSummaryOptions): Promise<ObtainedUsageSummary> {
  const {top, unusedSinceDays, ...obtain} = opts
  const rules: UsageRules = {gracePeriodDays: config.usage.grace_period_days, now: new Date(), unusedSinceDays}
  const usage = await obtainUsage(config, {generate: obtain.generate, maxAgeHours: obtain.maxAgeHours, rules})
  const {analysis, graph} = await obtainAnalysisGraph(config, obtain)
  const summary = tagUsageSummary(usage.graph, graph, rules, {
    report: {generated_at: usage.generatedAt, path: usage.path, reused: usage.reused},
    top,
  })
  return {analysis, graph, rules, summary, usage}
}
