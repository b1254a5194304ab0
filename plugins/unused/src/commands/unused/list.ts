import {BaseCommand, columnNames, connectMongo, lazySecretReader, type TableColumn, tableFlags} from '@drc/core'
import {Flags} from '@oclif/core'

import {findUnusedEnvironments, type UnusedEnvironments} from '../../unused.js'

export interface UnusedEnvironmentRow {
  activeRevisionId: string
  environmentId: string
  evidence: string
  lastUsed: null | string
  name: null | string
  /** Revisions with an image (failed builds, which have none, are not counted). */
  revisions: number
  /** Every image tag of it (failed builds included: they name a tag but have no image). */
  tags: string[]
}

export interface UnusedListResult {
  checked: number
  inUse: UnusedEnvironments['inUse']
  unused: UnusedEnvironmentRow[]
}

const COLUMNS: Array<TableColumn<UnusedEnvironmentRow>> = [
  {header: 'ENVIRONMENT', key: 'environmentId', value: (u) => u.environmentId},
  {header: 'NAME', key: 'name', value: (u) => u.name},
  {align: 'right', header: 'IMAGES', key: 'revisions', value: (u) => u.revisions},
  {format: (v) => (v === null ? 'never' : String(v)), header: 'LAST USED', key: 'lastUsed', value: (u) => u.lastUsed},
  {header: 'ACTIVE REVISION', key: 'activeRevisionId', value: (u) => u.activeRevisionId},
]

export default class UnusedList extends BaseCommand<typeof UnusedList> {
  static description = `List the non-archived environments that nothing uses: drc unused delete would delete all of their images, active revision included.

Read-only. An environment is in use when any usage source refers to any of its revisions or to the environment itself: project defaults and pins, organization and user-preference defaults, scheduler jobs, app versions of non-archived products, model versions, existing workspaces (whatever their state), workspace sessions and runs. With --unused-since-days, run and session usage older than that no longer counts; configuration usage never ages out, and usage of unknown age counts as in use. Images younger than the grace period (usage.grace_period_days) are in use. Archived environments are not listed (drc archived list).

Table columns (--columns, --sort): ${columnNames(COLUMNS)}.`
  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --unused-since-days 90 --json',
    '<%= config.bin %> <%= command.id %> --sort lastUsed --columns environmentId,name,lastUsed --csv',
  ]
  static flags = {
    ...tableFlags,
    'grace-period-days': Flags.integer({
      description: 'Images younger than this are in use (default: usage.grace_period_days).',
      min: 0,
    }),
    'unused-since-days': Flags.integer({
      description: 'Run and session usage older than this many days no longer counts.',
      min: 1,
    }),
  }
  static summary = 'List the non-archived environments that nothing uses.'
  static tableColumns = COLUMNS

  protected configFlags(): Record<string, unknown> {
    return {'usage.grace_period_days': this.flags['grace-period-days']}
  }

  async run(): Promise<UnusedListResult> {
    const config = await this.loadDrcConfig()
    const {client, db} = await connectMongo(config, {readSecret: lazySecretReader(config)})
    try {
      const found = await findUnusedEnvironments(db, {
        gracePeriodDays: config.usage.grace_period_days,
        now: new Date(),
        unusedSinceDays: this.flags['unused-since-days'],
      })
      const unused = found.unused.map((e) => ({
        activeRevisionId: e.activeRevisionId,
        environmentId: e.environmentId,
        evidence: e.evidence,
        lastUsed: e.lastUsed,
        name: e.name,
        revisions: e.revisions.filter((r) => r.built).length,
        tags: e.revisions.map((r) => r.tag!),
      }))
      if (!this.jsonEnabled()) {
        await this.printTable(unused, COLUMNS)
        this.logAside(`${unused.length} of ${found.checked} non-archived environments unused`)
      }

      return {checked: found.checked, inUse: found.inUse, unused}
    } finally {
      await client.close()
    }
  }
}
