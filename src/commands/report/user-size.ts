import {BaseCommand} from '@drc/core/lib/base-command.js'
import {columnNames, type TableColumn, tableFlags} from '@drc/core/lib/table.js'
import {obtainAnalysisGraph} from '@drc/core/reports/analysis-graph.js'
import {bytesCell} from '@drc/core/reports/format.js'
import {writeReport} from '@drc/core/reports/store.js'
import {loadImageOwners, type OwnerSize, USER_SIZE, userSizes} from '@drc/core/reports/user-size.js'
import {Flags} from '@oclif/core'

export interface UserSizeResult {
  analysis_path: string
  owners: OwnerSize[]
  path: string
  summary: {total_images: number; total_users: number}
  usage_report_path: string
}

const COLUMNS: Array<TableColumn<OwnerSize>> = [
  {header: 'OWNER', key: 'owner', value: (r) => r.owner},
  {header: 'NAME', key: 'user_name', value: (r) => r.user_name},
  {align: 'right', header: 'IMAGES', key: 'images', value: (r) => r.images},
  {align: 'right', header: 'TAGS', key: 'tags', value: (r) => r.tags},
  {align: 'right', format: bytesCell, header: 'STORED', key: 'distinct_bytes', value: (r) => r.distinct_bytes},
  {align: 'right', format: bytesCell, header: 'FREED IF ALL DELETED', key: 'freed_bytes', value: (r) => r.freed_bytes},
]

export default class ReportUserSize extends BaseCommand<typeof ReportUserSize> {
  static description = `Registry space per owner: the bytes each owner's images use and what deleting all of them would free (layers shared with other owners' images are not counted as freed).

Owners come from MongoDB: an environment image belongs to the environment's owner, a model image to the model's Owner collaborator (else its creator). Images MongoDB does not know are listed under (unknown). Fresh image analysis and usage reports are reused unless --generate-reports is given. Writes user-size-report-<UTC timestamp>.json to analysis.output_dir (or exactly --output).

Table columns (--columns, --sort): ${columnNames(COLUMNS)}.

Alias (the predecessor's name): drc user_size_report`
  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --generate-reports --json',
    '<%= config.bin %> <%= command.id %> --sort=-freed_bytes --limit 10',
  ]
  static flags = {
    ...tableFlags,
    'generate-reports': Flags.boolean({
      description: 'Read MongoDB and scan the registry again even if fresh reports exist.',
    }),
    'max-age-hours': Flags.integer({
      default: 24,
      description: 'Reports older than this are regenerated.',
      min: 0,
    }),
    output: Flags.string({description: 'Write the report to exactly this path.'}),
  }
  // The predecessor's name keeps working for scripts; hidden so help lists each command once.
  static hiddenAliases = ['user_size_report']
  static summary = 'Registry space per owner.'
  static tableColumns = COLUMNS

  async run(): Promise<UserSizeResult> {
    const config = await this.loadDrcConfig()
    const generate = this.flags['generate-reports']
    const maxAgeHours = this.flags['max-age-hours']
    // Owners first: a MongoDB failure stops the command before a registry scan.
    const owners = await loadImageOwners(config, {
      generate,
      maxAgeHours,
      rules: {gracePeriodDays: config.usage.grace_period_days, now: new Date()},
    })
    const {analysis, graph} = await obtainAnalysisGraph(config, {generate, maxAgeHours, quiet: this.jsonEnabled()})
    const rows = userSizes(graph, owners.ownersOf(graph))
    const summary = {total_images: rows.reduce((n, r) => n + r.images, 0), total_users: rows.length}
    const written = await writeReport(
      config,
      USER_SIZE.name,
      {analysis: analysis.path, owners: rows, summary, usage_report: owners.usage.path},
      {output: this.flags.output, schemaVersion: USER_SIZE.version},
    )
    if (!this.jsonEnabled()) {
      await this.printTable(rows, COLUMNS)
      this.logAside(`\nReport: ${written.path}`)
    }

    return {
      analysis_path: analysis.path,
      owners: rows,
      path: written.path,
      summary,
      usage_report_path: owners.usage.path,
    }
  }
}
