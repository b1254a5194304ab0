import {Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/base-command.js'
import {humanBytes, table} from '../../reports/format.js'
import {scanWithProgress} from '../../reports/obtain.js'
import {writeReport} from '../../reports/store.js'
import {loadImageOwners, type OwnerSize, USER_SIZE, userSizes} from '../../reports/user-size.js'

export interface UserSizeResult {
  owners: OwnerSize[]
  path: string
}

export default class ReportUserSize extends BaseCommand<typeof ReportUserSize> {
  static aliases = ['user_size_report']
  static description = `Registry space per owner: the distinct bytes each owner's images use and what deleting all of
them would free (layers shared with other owners' images are not counted as freed).

Owners come from MongoDB (environment and project owners).`
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']
  static flags = {
    output: Flags.string({description: 'Write the report to exactly this path.'}),
  }
  static summary = 'Registry space per owner.'

  async run(): Promise<UserSizeResult> {
    const config = await this.loadDrcConfig()
    // JOIN POINT: owners from the usage graph (src/usage). Loaded first, so a missing source fails before a scan.
    const owners = await loadImageOwners()
    const run = await scanWithProgress(config, {quiet: this.jsonEnabled()})
    const rows = userSizes(run.graph, owners)
    const written = await writeReport(
      config,
      USER_SIZE.name,
      {owners: rows},
      {output: this.flags.output, schemaVersion: USER_SIZE.version},
    )
    if (!this.jsonEnabled()) {
      this.log(
        table(rows, [
          {header: 'OWNER', value: (r) => r.owner},
          {align: 'right', header: 'IMAGES', value: (r) => r.images},
          {align: 'right', header: 'TOTAL', value: (r) => humanBytes(r.total_bytes)},
          {align: 'right', header: 'FREED IF ALL DELETED', value: (r) => humanBytes(r.freed_bytes)},
        ]),
      )
      this.log(`\nReport: ${written.path}`)
    }

    return {owners: rows, path: written.path}
  }
}
