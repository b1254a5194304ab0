import {Flags} from '@oclif/core'
import path from 'node:path'

import {BaseCommand} from '../../lib/base-command.js'
import {buildUsageGraph} from '../../usage/build.js'
import {connectMongo} from '../../usage/mongo.js'
import {usageReport, writeJsonReport} from '../../usage/report.js'

export interface UsageReportResult {
  database: string
  inUse: number
  latest: string
  path: string
  tags: number
  unused: number
}

export default class UsageReportCommand extends BaseCommand<typeof UsageReportCommand> {
  static description = `Write the MongoDB usage report: every environment and model image tag, who uses it, and why.

Reads every usage source (runs, workspaces and all their sessions, model versions, project/organization/user
defaults, scheduler jobs, app versions, active revisions) with streaming queries. If any required source cannot
be read, no report is written and the exit code is 1.`
  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --unused-since-days 30 --json',
  ]
  static flags = {
    'grace-period-days': Flags.integer({
      description: 'Images younger than this are in use (default: usage.grace_period_days).',
      min: 0,
    }),
    'unused-since-days': Flags.integer({
      description: 'Run and workspace usage older than this many days no longer counts.',
      min: 1,
    }),
  }

  protected configFlags(): Record<string, unknown> {
    return {'usage.grace_period_days': this.flags['grace-period-days']}
  }

  async run(): Promise<UsageReportResult> {
    const config = await this.loadDrcConfig()
    const mongo = await connectMongo(config.mongo)
    try {
      const now = new Date()
      const graph = await buildUsageGraph(mongo.db, {now})
      const rules = {
        gracePeriodDays: config.usage.grace_period_days,
        now,
        unusedSinceDays: this.flags['unused-since-days'],
      }
      const report = usageReport(graph, rules, config.mongo.db)
      const written = await writeJsonReport(config.analysis.output_dir, config.reports.mongodb_usage, report, now)
      const result: UsageReportResult = {
        database: config.mongo.db,
        inUse: report.summary.inUse,
        latest: written.latest,
        path: written.path,
        tags: report.tags.length,
        unused: report.summary.unused,
      }
      this.log(
        `${result.tags} tags (${report.summary.environmentTags} environment, ${report.summary.modelTags} model): ` +
          `${result.inUse} in use, ${result.unused} unused`,
      )
      this.log(`Usage report written to ${path.relative(process.cwd(), written.path) || written.path}`)
      return result
    } finally {
      await mongo.close()
    }
  }
}
