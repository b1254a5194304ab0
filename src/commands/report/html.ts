import {BaseCommand} from '@drc/core/lib/base-command.js'
import {metricsFlags, metricsTargets, recordMetrics} from '@drc/core/metrics/flags.js'
import {obtainUsageSummary} from '@drc/core/reports/usage-summary.js'
import {Flags} from '@oclif/core'
import path from 'node:path'

export interface ReportHtmlResult {
  analysis_path: string
  path: string
  usage_report_path: string
}

export default class ReportHtml extends BaseCommand<typeof ReportHtml> {
  static description = `Write one self-contained HTML page (no network: styles, the chart library and the data are inlined) with: registry size by repository and usage (used / unused / unknown to MongoDB), the top images and owners by bytes freed if deleted (shared layers counted once), the candidates of each strategy with their evidence (the latest plan or audit report of each strategy in analysis.output_dir), and the last audit (deleted, kept with reasons, failed, freed predicted vs measured). Tables sort and filter in the browser.

Fresh image analysis and usage reports are reused unless --generate-reports is given (as in drc reports). --domino-url (or DOMINO_URL) adds links to Domino where the predecessor's web UI had them (model versions, users).`
  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --output /tmp/registry.html --domino-url https://domino.example.com',
  ]
  static flags = {
    'all-repositories': Flags.boolean({description: 'Scan every repository in the registry catalog.'}),
    'domino-url': Flags.string({description: 'Domino base URL for deep links.', env: 'DOMINO_URL'}),
    'generate-reports': Flags.boolean({description: 'Scan again even if fresh reports exist.'}),
    ...metricsFlags,
    'max-age-hours': Flags.integer({default: 24, description: 'A report older than this is regenerated.', min: 0}),
    output: Flags.string({description: 'Write the page here (default: <analysis.output_dir>/drc-report.html).'}),
    top: Flags.integer({default: 50, description: 'Largest images and owners to list (0: all).', min: 0}),
    'unused-since-days': Flags.integer({
      description: 'Run and workspace usage older than this many days no longer counts as use.',
      min: 1,
    }),
  }
  static summary = 'Self-contained HTML report: usage, top images, owners, candidates, last audit.'

  async run(): Promise<ReportHtmlResult> {
    const started = new Date()
    const metrics = metricsTargets(this.flags)
    const config = await this.loadDrcConfig()
    const {analysis, rules, summary, usage} = await obtainUsageSummary(config, {
      allRepositories: this.flags['all-repositories'],
      generate: this.flags['generate-reports'],
      maxAgeHours: this.flags['max-age-hours'],
      quiet: this.jsonEnabled(),
      top: this.flags.top > 0 ? this.flags.top : Number.MAX_SAFE_INTEGER,
      unusedSinceDays: this.flags['unused-since-days'],
    })
    const {reportsHtml, writeHtmlFile} = await import('@drc/core/html/index.js')
    const html = await reportsHtml(
      config,
      {generated_at: analysis.generatedAt, images: analysis.report.images, usage: summary},
      {dominoUrl: this.flags['domino-url'], rules, top: this.flags.top, usage: usage.graph},
    )
    const file = await writeHtmlFile(
      this.flags.output ?? path.join(path.resolve(config.analysis.output_dir), 'drc-report.html'),
      html,
    )
    if (!this.jsonEnabled()) this.log(`Wrote ${file}`)
    const [{collectStrategyReports}, {reportsFigures}] = await Promise.all([
      import('@drc/core/html/collect.js'),
      import('@drc/core/metrics/figures.js'),
    ])
    const source = {images: analysis.report.images, usage: summary}
    await recordMetrics(
      reportsFigures('report:html', started, source, (await collectStrategyReports(config)).strategies),
      metrics,
    )
    return {analysis_path: analysis.path, path: file, usage_report_path: usage.path}
  }
}
