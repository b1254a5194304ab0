import type {Db} from 'mongodb'

import {
  BaseCommand,
  buildUsageGraph,
  columnNames,
  connectMongo,
  lazySecretReader,
  type TableColumn,
  tableFlags,
} from '@drc/core'
import {Flags} from '@oclif/core'

export interface UnusedTag {
  /** False for a failed build (`metadata.isBuilt: false`): Mongo names a tag, but no image was ever pushed. */
  built: boolean
  environmentId: null | string
  lastUsed: null | string
  name: null | string
  revisionId: null | string
  tag: string
}

export interface UnusedListResult {
  checked: number
  unused: UnusedTag[]
}

/** One targeted query for the revisions listed: which of them never produced an image. */
async function markFailedBuilds(db: Db, unused: UnusedTag[]): Promise<void> {
  const ids = unused.map((u) => u.revisionId).filter((id): id is string => id !== null)
  if (ids.length === 0) return
  const {ObjectId} = await import('mongodb')
  const failed = new Set<string>()
  const cursor = db
    .collection('environment_revisions')
    .find({_id: {$in: ids.map((id) => new ObjectId(id))}, 'metadata.isBuilt': false}, {projection: {_id: 1}})
  for await (const r of cursor) failed.add(String(r._id))
  for (const u of unused) if (u.revisionId && failed.has(u.revisionId)) u.built = false
}

const COLUMNS: Array<TableColumn<UnusedTag>> = [
  {header: 'TAG', key: 'tag', value: (u) => u.tag},
  {header: 'NAME', key: 'name', value: (u) => u.name},
  {format: (v) => (v === null ? 'never' : String(v)), header: 'LAST USED', key: 'lastUsed', value: (u) => u.lastUsed},
  {format: (v) => (v ? 'yes' : 'no (failed build: no image)'), header: 'BUILT', key: 'built', value: (u) => u.built},
  {header: 'ENVIRONMENT', key: 'environmentId', value: (u) => u.environmentId},
  {header: 'REVISION', key: 'revisionId', value: (u) => u.revisionId},
]

export default class UnusedList extends BaseCommand<typeof UnusedList> {
  static description = `List environment image tags that nothing uses, by the same rule the deletion re-check applies.

Read-only. A tag is in use when any usage source refers to it: the environment's active revision, project, organization and user-preference defaults, scheduler jobs, app versions, model versions, workspaces (all their sessions) and runs. With --unused-since-days, run and workspace usage older than that no longer counts; configuration usage never ages out, and usage of unknown age counts as in use. Images younger than the grace period (usage.grace_period_days) are always in use.

Table columns (--columns, --sort): ${columnNames(COLUMNS)}.`
  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --unused-since-days 90 --json',
    '<%= config.bin %> <%= command.id %> --sort lastUsed --columns tag,name,lastUsed --csv',
  ]
  static flags = {
    ...tableFlags,
    'grace-period-days': Flags.integer({
      description: 'Images younger than this are in use (default: usage.grace_period_days).',
      min: 0,
    }),
    'unused-since-days': Flags.integer({
      description: 'Run and workspace usage older than this many days no longer counts.',
      min: 1,
    }),
  }
  static summary = 'List environment image tags that nothing uses.'
  static tableColumns = COLUMNS

  protected configFlags(): Record<string, unknown> {
    return {'usage.grace_period_days': this.flags['grace-period-days']}
  }

  async run(): Promise<UnusedListResult> {
    const config = await this.loadDrcConfig()
    const {client, db} = await connectMongo(config, {readSecret: lazySecretReader(config)})
    try {
      const now = new Date()
      const graph = await buildUsageGraph(db, {now})
      const rules = {
        gracePeriodDays: config.usage.grace_period_days,
        now,
        unusedSinceDays: this.flags['unused-since-days'],
      }
      const unused: UnusedTag[] = []
      let checked = 0
      for (const usage of graph.all()) {
        if (usage.imageType !== 'environment') continue
        checked++
        const verdict = graph.evaluate('environment', usage.tag, rules)
        if (verdict.inUse) continue
        unused.push({
          built: true,
          environmentId: usage.environmentId ?? null,
          lastUsed: verdict.lastUsed?.toISOString() ?? null,
          name: usage.name ?? null,
          revisionId: usage.revisionId ?? null,
          tag: usage.tag,
        })
      }

      await markFailedBuilds(db, unused)
      if (!this.jsonEnabled()) {
        await this.printTable(unused, COLUMNS)
        this.logAside(`${unused.length} of ${checked} environment tags unused`)
      }

      return {checked, unused}
    } finally {
      await client.close()
    }
  }
}
