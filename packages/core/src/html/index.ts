/** The self-contained HTML report (`drc report html`, `drc reports --html`, and audits through renderAuditHtml). */
import {randomBytes} from 'node:crypto'
import {rename} from 'node:fs/promises'
import path from 'node:path'

import type {DeletionReport} from '../lifecycle/phases/audit.js'

import {makePrivateDir, writePrivateFile} from '../lib/private-files.js'
import {auditFromReport, buildHtmlData, strategyFromReport} from './data.js'
import {renderHtmlReport} from './render.js'

export {collectStrategyReports} from './collect.js'
export {auditFromReport, buildHtmlData, HTML_DATA_VERSION, strategyFromReport} from './data.js'
export type {HtmlAudit, HtmlOptions, HtmlReportData, HtmlSource, HtmlStrategy} from './data.js'
export {reportsHtml} from './from-reports.js'

/** Writes the page atomically (temp file + rename, mode 0600): a reader never sees half a report. */
export async function writeHtmlFile(file: string, html: string): Promise<string> {
  const target = path.resolve(file)
  await makePrivateDir(path.dirname(target))
  const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  await writePrivateFile(tmp, html, 'wx')
  await rename(tmp, target)
  return target
}

/**
 * The page of one deletion run (plan or audit report): its candidates and, for an audit, what was deleted,
 * kept and failed. For the lifecycle's `--html <file>`: `await writeHtmlFile(file, renderAuditHtml(report, path))`.
 */
export function renderAuditHtml(
  report: DeletionReport,
  reportPath: null | string = null,
  opts: {dominoUrl?: null | string; measuredFreedBytes?: null | number} = {},
): string {
  const empty = {
    generated_at: report.finished_at,
    images: [],
    usage: {
      repositories: [],
      top_users: [],
      total: {
        tags: 0,
        unknown: {bytes: 0, tags: 0},
        unused: {bytes: 0, freed_bytes: 0, kept_by_other_tags: 0, tags: 0},
        used: {bytes: 0, tags: 0},
      },
    },
  }
  const strategy = strategyFromReport(report, reportPath ?? '', report.finished_at)
  const audit = report.apply ? auditFromReport(report, reportPath, opts.measuredFreedBytes ?? null) : null
  const data = buildHtmlData(empty, [strategy], audit, {dominoUrl: opts.dominoUrl})
  return renderHtmlReport(data, {title: `drc ${report.apply ? 'audit' : 'plan'}: ${report.strategy}`})
}

export type {ReportsHtmlOptions} from './from-reports.js'
export {embedJson, renderHtmlReport} from './render.js'
