import {
  BaseCommand,
  buildUsageGraph,
  columnNames,
  connectMongo,
  lazySecretReader,
  type TableColumn,
  tableFlags,
} from '@drc/core'

import {tagAgeFlags} from '../../flags.js'
import {type AgedTag, agedTags} from '../../select.js'

export interface TagAgeListResult {
  olderThanDays: number
  pattern: string
  tags: AgedTag[]
}

const COLUMNS: Array<TableColumn<AgedTag>> = [
  {header: 'TAG', key: 'tag', value: (t) => t.tag},
  {header: 'CREATED', key: 'createdAt', value: (t) => t.createdAt},
  {header: 'REVISION', key: 'revisionId', value: (t) => t.revisionId},
]

export default class TagAgeList extends BaseCommand<typeof TagAgeList> {
  static description = `List environment image tags matching a glob whose revision is older than N days (what drc tag-age delete proposes, before the core keeps those in use).

Table columns (--columns, --sort): ${columnNames(COLUMNS)}.`
  static examples = ['<%= config.bin %> <%= command.id %> --pattern "*-1" --older-than-days 180 --json']
  static flags = {
    ...tableFlags,
    'older-than-days': tagAgeFlags['older-than-days'],
    pattern: tagAgeFlags.pattern,
  }
  static summary = 'List environment image tags by pattern and age (example plugin).'
  static tableColumns = COLUMNS

  async run(): Promise<TagAgeListResult> {
    const config = await this.loadDrcConfig()
    const pattern = this.flags.pattern ?? '*'
    const olderThanDays = this.flags['older-than-days'] ?? 90
    const {client, db} = await connectMongo(config, {readSecret: lazySecretReader(config)})
    try {
      const tags = agedTags(await buildUsageGraph(db), {now: new Date(), olderThanDays, pattern})
      if (!this.jsonEnabled()) {
        await this.printTable(tags, COLUMNS)
        this.logAside(`${tags.length} tags match "${pattern}" and are older than ${olderThanDays} days`)
      }

      return {olderThanDays, pattern, tags}
    } finally {
      await client.close()
    }
  }
}
