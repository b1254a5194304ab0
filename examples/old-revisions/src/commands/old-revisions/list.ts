import {BaseCommand, columnNames, connectMongo, lazySecretReader, type TableColumn, tableFlags} from '@drc/core'
import {Flags} from '@oclif/core'

import {type OldRevision, oldRevisions} from '../../old-revisions.js'

export interface OldRevisionsResult {
  keep: number
  revisions: OldRevision[]
}

const COLUMNS: Array<TableColumn<OldRevision>> = [
  {header: 'ENVIRONMENT', key: 'environmentId', value: (r) => r.environmentId},
  {header: 'REVISION', key: 'revisionId', value: (r) => r.revisionId},
  {header: 'TAG', key: 'tag', value: (r) => r.tag},
]

// A third-party strategy needs nothing but the public API of `drc`: BaseCommand, configuration and connections.
export default class OldRevisionsList extends BaseCommand<typeof OldRevisionsList> {
  static description = `List environment revisions older than the newest N of their environment.

Read-only. Active revisions and revisions that a kept revision was cloned from are never listed.

Table columns (--columns, --sort): ${columnNames(COLUMNS)}.`
  static examples = ['<%= config.bin %> <%= command.id %> --keep 3 --json']
  static flags = {
    ...tableFlags,
    keep: Flags.integer({default: 5, description: 'Newest revisions to keep per environment.', min: 1}),
  }
  static summary = 'List environment revisions older than the newest N of their environment.'
  static tableColumns = COLUMNS

  async run(): Promise<OldRevisionsResult> {
    const config = await this.loadDrcConfig()
    const {client, db} = await connectMongo(config, {readSecret: lazySecretReader(config)})
    try {
      const revisions = await oldRevisions(db, this.flags.keep)
      if (!this.jsonEnabled()) {
        await this.printTable(revisions, COLUMNS)
        this.logAside(`${revisions.length} revisions beyond the newest ${this.flags.keep}`)
      }

      return {keep: this.flags.keep, revisions}
    } finally {
      await client.close()
    }
  }
}
