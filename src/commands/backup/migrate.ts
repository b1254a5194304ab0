import type {MigrateResult} from '@drc/core/backup/migrate.js'

import {BaseCommand} from '@drc/core/lib/base-command.js'
import {perItemExitCode} from '@drc/core/lib/per-item.js'
import {Flags} from '@oclif/core'

export default class BackupMigrate extends BaseCommand<typeof BackupMigrate> {
  static description = `Bring backups made by older drc versions into the OCI image layout.

Those kept manifests under manifests/sha256/ and had no index.json, so standard tools (skopeo oci:<dir>:<ref>) and drc backup list did not see them. For every drc record under images/, the manifests are copied into blobs/sha256/ (hash-checked) and an index.json entry is added. Nothing is deleted; running it again changes nothing. Exit code 0 when every record was migrated, 4 when some could not be (named), 1 when none could.`
  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --s3-bucket my-backups --json',
  ]
  static flags = {
    's3-bucket': Flags.string({description: 'Bucket of the backups (overrides s3.bucket / S3_BUCKET).'}),
  }
  static summary = 'Bring backups of older drc versions into the OCI image layout.'

  protected configFlags(): Record<string, unknown> {
    return {'s3.bucket': this.flags['s3-bucket']}
  }

  async run(): Promise<MigrateResult> {
    const config = await this.loadDrcConfig()
    const [{openBackupStore}, {migrateLegacy}] = await Promise.all([
      import('@drc/core/backup/session.js'),
      import('@drc/core/backup/migrate.js'),
    ])
    const store = await openBackupStore(config)
    try {
      const result = await migrateLegacy(store.store)
      if (!this.jsonEnabled()) {
        for (const p of result.problems) this.logToStderr(`✗ ${p.key}: ${p.reason}`)
        this.log(
          `${result.indexed.length} backups added to index.json, ${result.manifestsCopied} manifests copied into blobs/, ${result.problems.length} problems`,
        )
      }

      process.exitCode =
        result.problems.length > 0
          ? perItemExitCode({failed: result.problems.length, succeeded: result.indexed.length})
          : 0
      return result
    } finally {
      store.close()
    }
  }
}
