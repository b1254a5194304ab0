import {BaseCommand} from '@drc/core/lib/base-command.js'
import {obtainUsage} from '@drc/core/reports/usage-report.js'
import {Flags} from '@oclif/core'
import path from 'node:path'

export interface UsageReportResult {
  database: string
  generated_at: string
  inUse: number
  /** `<name>-latest.json`, or null with --output (the pointer then stays on the previous report). */
  latest: null | string
  path: string
  tags: number
  unused: number
}

export default class UsageReportCommand extends BaseCommand<typeof UsageReportCommand> {
  static description = `Write the MongoDB usage report: every environment and model image tag, who uses it, and why.

Reads every usage source (runs, workspaces and all their sessions, model versions, project/organization/user defaults, scheduler jobs, app versions, active revisions) with streaming queries. If any required source cannot be read, no report is written and the exit code is 1.

The report goes to analysis.output_dir as <reports.mongodb_usage stem>-<UTC timestamp>.json (default mongodb_usage_report-…), with <stem>-latest.json pointing at it; drc reports reuses it while it is fresh. With --output, exactly that file is written and the latest pointer is left alone.`
  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --unused-since-days 30 --json',
    '<%= config.bin %> <%= command.id %> --output /tmp/usage.json',
  ]
  static flags = {
    'grace-period-days': Flags.integer({
      description: 'Images younger than this are in use (default: usage.grace_period_days).',
      min: 0,
    }),
    output: Flags.string({description: 'Write the report to exactly this path.'}),
    'unused-since-days': Flags.integer({
      description: 'Run and workspace usage older than this many days no longer counts.',
      min: 1,
    }),
  }
  static summary = 'Write the MongoDB usage report.'

  protected configFlags(): Record<string, unknown> {
    return {'usage.grace_period_days': this.flags['grace-period-days']}
  }

  async run(): Promise<UsageReportResult> {
    const config = await this.loadDrcConfig()
    const now = new Date()
    const got = await obtainUsage(config, {
      generate: true,
      maxAgeHours: 0,
      output: this.flags.output,
      rules: {gracePeriodDays: config.usage.grace_period_days, now, unusedSinceDays: this.flags['unused-since-days']},
    })
    const {summary} = got.report
    const result: UsageReportResult = {
      database: got.report.database,
      generated_at: got.generatedAt,
      inUse: summary.inUse,
      latest: got.latest,
      path: got.path,
      tags: got.report.tags.length,
      unused: summary.unused,
    }
    this.log(
      `${result.tags} tags (${summary.environmentTags} environment, ${summary.modelTags} model): ` +
        `${result.inUse} in use, ${result.unused} unused`,
    )
    this.log(`Usage report written to ${path.relative(process.cwd(), got.path) || got.path}`)
    return result
  }
}
