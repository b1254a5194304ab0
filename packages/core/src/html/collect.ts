/** The latest plan and audit report of each strategy in analysis.output_dir (named `<strategy>-plan|audit`). */
import {readdir} from 'node:fs/promises'
import path from 'node:path'

import type {DrcConfig} from '../config/types.js'
import type {DeletionReport} from '../lifecycle/phases/audit.js'
import type {HtmlAudit, HtmlStrategy} from './data.js'

import {readLatest} from '../reports/store.js'
import {auditFromReport, strategyFromReport} from './data.js'

const LATEST = /^(.+)-(audit|plan)-latest\.json$/

interface Found {
  generatedAt: string
  kind: 'audit' | 'plan'
  path: string
  report: DeletionReport
}

async function latestOf(config: DrcConfig, name: string, kind: Found['kind']): Promise<Found | null> {
  // Any age: the page says when each report was made.
  const got = await readLatest<DeletionReport>(config, name, {maxAgeHours: Number.POSITIVE_INFINITY})
  if (!got || !Array.isArray(got.envelope.data?.planned)) return null
  return {generatedAt: got.envelope.generated_at, kind, path: got.path, report: got.envelope.data}
}

/**
 * Per strategy, its newest plan or audit (whichever is newer) as candidates; and the newest audit of all, as
 * the last audit. A missing or unreadable output directory gives none.
 */
export async function collectStrategyReports(
  config: DrcConfig,
): Promise<{audit: HtmlAudit | null; strategies: HtmlStrategy[]}> {
  let names: string[] = []
  try {
    names = await readdir(path.resolve(config.analysis.output_dir))
  } catch {
    return {audit: null, strategies: []}
  }

  const found: Found[] = []
  for (const file of names.sort()) {
    const m = LATEST.exec(file)
    // eslint-disable-next-line no-await-in-loop
    const got = m ? await latestOf(config, `${m[1]}-${m[2]}`, m[2] as Found['kind']) : null
    if (got) found.push(got)
  }

  const newestFirst = found.sort((a, b) => b.generatedAt.localeCompare(a.generatedAt))
  const perStrategy = new Map<string, Found>()
  for (const f of newestFirst) if (!perStrategy.has(f.report.strategy)) perStrategy.set(f.report.strategy, f)
  const lastAudit = newestFirst.find((f) => f.kind === 'audit')
  return {
    audit: lastAudit ? auditFromReport(lastAudit.report, lastAudit.path) : null,
    strategies: [...perStrategy.values()]
      .map((f) => strategyFromReport(f.report, f.path, f.generatedAt))
      .sort((a, b) => a.strategy.localeCompare(b.strategy)),
  }
}
