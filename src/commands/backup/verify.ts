import type {VerifyResult} from '@drc/core/backup/types.js'

import {openBackupSession, parseImageRef} from '@drc/core/backup/session.js'
import {BaseCommand} from '@drc/core/lib/base-command.js'
import {forEachItem, type ItemOutcome} from '@drc/core/lib/per-item.js'
import {Args, Flags} from '@oclif/core'

export default class BackupVerify extends BaseCommand<typeof BackupVerify> {
  static args = {
    images: Args.string({description: '<repository>:<tag> or <repository>@sha256:<digest>', required: true}),
  }
  static description = `Check that backups in S3 are complete and intact.

Re-reads each backup's record and manifests (their bytes must hash to their digests) and checks that every blob exists with the size and sha256 recorded when it was streamed. Names every missing or damaged object. Exit code 0 when all verify, 4 when some do not, 1 when none do.`
  static examples = ['<%= config.bin %> <%= command.id %> dominodatalab/environment:68e64edfcaf3254005314c90-1']
  static flags = {
    's3-bucket': Flags.string({description: 'Bucket of the backups (overrides s3.bucket / S3_BUCKET).'}),
  }
  static strict = false
  static summary = 'Check that backups in S3 are complete and intact.'

  protected configFlags(): Record<string, unknown> {
    return {'s3.bucket': this.flags['s3-bucket']}
  }

  async run(): Promise<{images: Array<ItemOutcome<VerifyResult>>}> {
    const refs = new Map(this.positional.map((a) => [a, parseImageRef(a)]))
    const config = await this.loadDrcConfig()
    const [{verifyBackup}, session] = await Promise.all([
      import('@drc/core/backup/index.js'),
      openBackupSession(config),
    ])
    try {
      const {exitCode, outcomes} = await forEachItem([...refs.keys()], async (text) => {
        const check = await verifyBackup(session.store, refs.get(text)!)
        if (!this.jsonEnabled())
          this.log(
            check.verified
              ? `✓ ${text}  ${check.checked.manifests} manifests, ${check.checked.blobs} blobs`
              : `✗ ${text}  ${check.problems.map((p) => `${p.key} (${p.kind}): ${p.detail}`).join('; ')}`,
          )
        return {ok: check.verified, result: check}
      })
      for (const o of outcomes) if (o.error && !this.jsonEnabled()) this.logToStderr(`✗ ${o.item}: ${o.error}`)
      process.exitCode = exitCode
      return {images: outcomes}
    } finally {
      await session.close()
    }
  }
}
