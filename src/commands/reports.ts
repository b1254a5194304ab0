import type {SummaryStats} from '@drc/core/analysis/graph.js'
import type {AnalysisStats} from '@drc/core/analysis/service.js'
import type {ImageEntry} from '@drc/core/reports/image-analysis.js'
import type {StatusBytes, TagUsageSummary} from '@drc/core/usage/join.js'

import {BaseCommand} from '@drc/core/lib/base-command.js'
import {formatTable, type TableColumn} from '@drc/core/lib/table.js'
import {metricsFlags, metricsTargets, recordMetrics, wantsMetrics} from '@drc/core/metrics/flags.js'
import {bytesCell, humanBytes} from '@drc/core/reports/format.js'
import {type LegacyFileKey, writeLegacyFiles} from '@drc/core/reports/legacy.js'
import {writeReport} from '@drc/core/reports/store.js'
import {obtainUsageSummary} from '@drc/core/reports/usage-summary.js'
import {Flags} from '@oclif/core'
import path from 'node:path'

const cell = (p: StatusBytes): string => `${p.tags} (${humanBytes(p.bytes)})`
type RepositoryRow = TagUsageSummary['total'] & {repository: string}

// A summary of three tables (the table flags belong to `report image-size` and `report user-size`).
const IMAGE_COLUMNS: Array<TableColumn<ImageEntry>> = [
  {header: 'IMAGE', key: 'image', value: (i) => `${i.repository}:${i.tags.join(',')}`},
  {align: 'right', format: bytesCell, header: 'TOTAL', key: 'total_bytes', value: (i) => i.total_bytes},
  {align: 'right', format: bytesCell, header: 'UNIQUE', key: 'unique_bytes', value: (i) => i.unique_bytes},
  {align: 'right', format: bytesCell, header: 'SHARED', key: 'shared_bytes', value: (i) => i.shared_bytes},
  {align: 'right', header: 'LAYERS', key: 'layers', value: (i) => i.layers},
]
const REPOSITORY_COLUMNS: Array<TableColumn<RepositoryRow>> = [
  {header: 'REPOSITORY', key: 'repository', value: (x) => x.repository},
  {align: 'right', header: 'TAGS', key: 'tags', value: (x) => x.tags},
  {align: 'right', header: 'USED', key: 'used', value: (x) => cell(x.used)},
  {align: 'right', header: 'UNUSED', key: 'unused', value: (x) => cell(x.unused)},
  {
    align: 'right',
    format: bytesCell,
    header: 'FREED IF UNUSED DELETED',
    key: 'freed',
    value: (x) => x.unused.freed_bytes,
  },
  {align: 'right', header: 'UNKNOWN TO MONGODB', key: 'unknown', value: (x) => cell(x.unknown)},
]
const OWNER_COLUMNS: Array<TableColumn<TagUsageSummary['top_users'][number]>> = [
  {header: 'OWNER', key: 'owner', value: (o) => o.owner},
  {header: 'NAME', key: 'user_name', value: (o) => o.user_name},
  {align: 'right', header: 'IMAGES', key: 'images', value: (o) => o.images},
  {align: 'right', format: bytesCell, header: 'STORED', key: 'distinct_bytes', value: (o) => o.distinct_bytes},
  {align: 'right', format: bytesCell, header: 'FREED IF ALL DELETED', key: 'freed_bytes', value: (o) => o.freed_bytes},
]

/** Report `reports`, schema version 1: the whole result of `drc reports` (data = `ReportsResult`), for --output. */
export const REPORTS_RESULT = {name: 'reports', version: 1} as const

export interface ReportsResult {
  generated_at: string
  images: ImageEntry[]
  /** With --legacy-files: the predecessor's six analysis files written, by `reports.*` key; else null. */
  legacy_files: null | Record<LegacyFileKey, string>
  /** With --output: the file holding this whole result (schema `reports`); else null. */
  output: null | string
  /** The image analysis report (in analysis.output_dir). */
  path: string
  repositories: Array<{repository: string; tags: number}>
  reused: boolean
  scan: AnalysisStats | null
  summary: SummaryStats
  /** Tag usage from MongoDB joined with the blob graph: used / unused / unknown per repository, top owners. */
  usage: TagUsageSummary
}

export default class Reports extends BaseCommand<typeof Reports> {
  static description = `Analyse the registry: every image of <repository>/environment and <repository>/model (or the configured registry.scan_repositories), its total size, what deleting it alone would free, and how layers are shared; joined with MongoDB usage: per repository, how many tags are used, unused or unknown to MongoDB, their bytes, what deleting every unused tag would free (shared layers counted once), and the owners using the most space.

Reports younger than --max-age-hours (the image analysis and the MongoDB usage report) are reused unless --generate-reports is given. They are written to analysis.output_dir as image-analysis-<UTC timestamp>.json and mongodb_usage_report-<UTC timestamp>.json, each with a -latest.json pointer to the newest. If MongoDB cannot be read the command fails naming the source, before scanning.

--output FILE also saves the whole result (image analysis and tag usage, what --json prints) as one report. --legacy-files also writes the predecessor's analysis files (final-report, tags-per-layer, layers-and-sizes, filtered-layers, tag-sums, images-report; names from reports.*, timestamped) as plain JSON for existing scripts.`
  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --generate-reports --json',
    '<%= config.bin %> <%= command.id %> --all-repositories --output /tmp/analysis.json',
    '<%= config.bin %> <%= command.id %> --legacy-files',
  ]
  static flags = {
    'all-repositories': Flags.boolean({description: 'Scan every repository in the registry catalog.'}),
    'generate-reports': Flags.boolean({description: 'Scan again even if a fresh report exists.'}),
    html: Flags.string({
      description: 'Also write the self-contained HTML report (as drc report html) to this file.',
    }),
    'legacy-files': Flags.boolean({
      description:
        "Also write the predecessor's six analysis files (final-report, tag-sums, ...) to analysis.output_dir.",
    }),
    ...metricsFlags,
    'max-age-hours': Flags.integer({
      default: 24,
      description: 'A report older than this is stale and regenerated.',
      min: 0,
    }),
    output: Flags.string({
      description: 'Also write the whole result (image analysis and tag usage) as one report to exactly this path.',
    }),
    top: Flags.integer({default: 10, description: 'Largest images and owners to list.', min: 0}),
    'unused-since-days': Flags.integer({
      description: 'Run and workspace usage older than this many days no longer counts as use.',
      min: 1,
    }),
  }
  static summary = 'Analyse registry images, shared layers and reclaimable space.'

  async run(): Promise<ReportsResult> {
    const started = new Date()
    const metrics = metricsTargets(this.flags)
    const config = await this.loadDrcConfig()
    const {
      analysis: got,
      rules,
      summary,
      usage,
    } = await obtainUsageSummary(config, {
      allRepositories: this.flags['all-repositories'],
      generate: this.flags['generate-reports'],
      maxAgeHours: this.flags['max-age-hours'],
      quiet: this.jsonEnabled(),
      top: this.flags.top,
      unusedSinceDays: this.flags['unused-since-days'],
    })
    const legacyFiles = this.flags['legacy-files']
      ? await writeLegacyFiles(config, got.report, new Date(got.generatedAt))
      : null
    const output = this.flags.output ? path.resolve(this.flags.output) : null
    const result: ReportsResult = {
      generated_at: got.generatedAt,
      images: got.report.images,
      legacy_files: legacyFiles,
      output,
      path: got.path,
      repositories: got.report.repositories,
      reused: got.reused,
      scan: got.reused ? null : got.report.scan,
      summary: got.report.summary,
      usage: summary,
    }
    // Last, so the saved result is exactly what is printed (including the paths of the legacy files).
    if (output) await writeReport(config, REPORTS_RESULT.name, result, {output, schemaVersion: REPORTS_RESULT.version})
    if (this.flags.html) {
      const {reportsHtml, writeHtmlFile} = await import('@drc/core/html/index.js')
      const html = await reportsHtml(config, result, {rules, top: this.flags.top, usage: usage.graph})
      this.logAside(`Wrote ${await writeHtmlFile(this.flags.html, html)}`)
    }

    if (wantsMetrics(metrics)) {
      const [{collectStrategyReports}, {reportsFigures}] = await Promise.all([
        import('@drc/core/html/collect.js'),
        import('@drc/core/metrics/figures.js'),
      ])
      const {strategies} = await collectStrategyReports(config)
      await recordMetrics(reportsFigures('reports', started, result, strategies), metrics)
    }

    if (!this.jsonEnabled()) await this.print(result)
    return result
  }

  private async print(r: ReportsResult): Promise<void> {
    const s = r.summary
    this.log(`${r.reused ? 'Reusing' : 'Wrote'} ${r.path} (${r.generated_at})`)
    this.log(`Repositories: ${r.repositories.map((x) => `${x.repository} (${x.tags} tags)`).join(', ')}`)
    this.log(
      `Images: ${s.total_images} (${s.total_tags} tags)   Layers: ${s.total_layers} (${humanBytes(s.total_size_bytes)})   Stored: ${humanBytes(s.total_stored_bytes)}`,
    )
    this.log(
      `Single-use layers: ${s.single_use_layers} (${humanBytes(s.single_use_size_bytes)})   Shared layers: ${s.shared_layers} (${humanBytes(s.shared_size_bytes)})`,
    )
    this.log(`Average layers per image: ${s.avg_layers_per_image}   Average layer ref count: ${s.avg_ref_count}`)
    const top = r.images.slice(0, this.flags.top)
    if (top.length > 0) {
      this.log('')
      this.log(await formatTable(top, IMAGE_COLUMNS, {}))
    }

    await this.printUsage(r.usage)
    if (r.legacy_files) {
      this.log('')
      this.log('Predecessor analysis files:')
      for (const file of Object.values(r.legacy_files)) this.log(`  ${file}`)
    }

    if (r.output) this.log(`\nWrote the whole result to ${r.output}`)
  }

  private async printUsage(u: TagUsageSummary): Promise<void> {
    const age = u.rules.unused_since_days === null ? '' : `, unused for ${u.rules.unused_since_days} days`
    this.log('')
    this.log(
      `Tag usage (MongoDB usage report ${u.usage_report.reused ? 'reused' : 'written'}: ${u.usage_report.path}; grace period ${u.rules.grace_period_days} days${age})`,
    )
    const rows = [...u.repositories, {...u.total, image_type: null, repository: 'TOTAL'}]
    this.log(await formatTable(rows, REPOSITORY_COLUMNS, {}))
    if (u.total.unknown.tags > 0)
      this.log(`${u.total.unknown.tags} tag(s) are unknown to MongoDB: never counted as unused; check them by hand.`)
    if (u.top_users.length === 0) return
    this.log('')
    this.log('Top users of space:')
    this.log(await formatTable(u.top_users, OWNER_COLUMNS, {}))
  }
}
