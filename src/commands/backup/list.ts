import type {IndexedBackup} from '@drc/core/backup/oci-index.js'

import {BaseCommand} from '@drc/core/lib/base-command.js'
import {columnNames, type TableColumn, tableFlags} from '@drc/core/lib/table.js'
import {bytesCell} from '@drc/core/reports/format.js'
import {Flags} from '@oclif/core'

const COLUMNS: Array<TableColumn<IndexedBackup>> = [
  {header: 'REPOSITORY', key: 'repository', value: (r) => r.repository},
  {header: 'TAG', key: 'tag', value: (r) => r.tag},
  {header: 'DIGEST', key: 'digest', value: (r) => r.digest},
  {align: 'right', format: bytesCell, header: 'SIZE', key: 'bytes', value: (r) => r.bytes},
  {header: 'BACKED UP (UTC)', key: 'backedUpAt', value: (r) => r.backedUpAt},
]

export default class BackupList extends BaseCommand<typeof BackupList> {
  static description = `List the images backed up in S3: repository, tag, digest, size (all blobs of the image) and when.

Reads the OCI layout's index.json under s3://<s3.bucket>/<s3.prefix>/ (one request). Backups made by drc before the layout had an index.json are not listed (they still verify and restore by name). Newest first.

Table columns (--columns, --sort): ${columnNames(COLUMNS)}.`
  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --repository dominodatalab/environment --tag-prefix 68e64edfcaf3254005314c90',
    '<%= config.bin %> <%= command.id %> --s3-bucket my-backups --json',
  ]
  static flags = {
    ...tableFlags,
    repository: Flags.string({description: 'Only backups of this repository (e.g. dominodatalab/environment).'}),
    's3-bucket': Flags.string({description: 'Bucket to read (overrides s3.bucket / S3_BUCKET).'}),
    'tag-prefix': Flags.string({description: 'Only tags starting with this (e.g. an environment ObjectId).'}),
  }
  static summary = 'List the images backed up in S3 (repository, tag, digest, size, date).'
  static tableColumns = COLUMNS

  protected configFlags(): Record<string, unknown> {
    return {'s3.bucket': this.flags['s3-bucket']}
  }

  async run(): Promise<{backups: IndexedBackup[]}> {
    const config = await this.loadDrcConfig()
    const [{openBackupStore}, {listBackups}] = await Promise.all([
      import('@drc/core/backup/session.js'),
      import('@drc/core/backup/list.js'),
    ])
    const store = await openBackupStore(config)
    try {
      const backups = await listBackups(store.store, {
        repository: this.flags.repository,
        tagPrefix: this.flags['tag-prefix'],
      })
      await this.printTable(backups, COLUMNS)
      if (!this.jsonEnabled() && backups.length === 0) this.logToStderr('no backups in the index')
      return {backups}
    } finally {
      store.close()
    }
  }
}
