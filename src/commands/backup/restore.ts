import {Args, Flags} from '@oclif/core'

import type {RestoreResult} from '../../backup/types.js'

import {openBackupSession, parseImageRef} from '../../backup/session.js'
import {isValidRepository} from '../../config/validate.js'
import {BaseCommand} from '../../lib/base-command.js'
import {UsageError} from '../../lib/errors.js'
import {forEachItem, type ItemOutcome} from '../../lib/per-item.js'

export default class BackupRestore extends BaseCommand<typeof BackupRestore> {
  static args = {
    images: Args.string({description: '<repository>:<tag> or <repository>@sha256:<digest>', required: true}),
  }
  static description = `Push images back into the registry from their S3 backups.

Blobs the registry lacks are uploaded (each checked against its digest first), then index children by digest,
then the manifest under its tag. The restored digest must equal the backed-up one, so running images and
deployed models that reference the digest work again. Exit code 0 when all were restored, 4 when some failed.`
  static examples = [
    '<%= config.bin %> <%= command.id %> dominodatalab/environment:68e64edfcaf3254005314c90-1',
    '<%= config.bin %> <%= command.id %> dominodatalab/environment:68e64edfcaf3254005314c90-1 --to-repository scratch/environment',
  ]
  static flags = {
    'to-repository': Flags.string({description: 'Restore into this repository instead of the backed-up one.'}),
  }
  static strict = false

  async run(): Promise<{images: Array<ItemOutcome<RestoreResult>>}> {
    const refs = new Map(this.positional.map((a) => [a, parseImageRef(a)]))
    const target = this.flags['to-repository']
    if (target !== undefined && !isValidRepository(target))
      throw new UsageError(`--to-repository '${target}' contains invalid characters (allowed: letters, digits, _ - /)`)
    const config = await this.loadDrcConfig()
    const [{restoreImage}, session] = await Promise.all([import('../../backup/index.js'), openBackupSession(config)])
    try {
      const {exitCode, outcomes} = await forEachItem([...refs.keys()], async (text) => {
        const result = await restoreImage(session.registry, session.store, refs.get(text)!, {repository: target})
        if (!this.jsonEnabled())
          this.log(
            `✓ ${text} → ${result.repository}${result.tag ? `:${result.tag}` : ''}@${result.digest} (${result.blobsUploaded} blobs uploaded)`,
          )
        return {ok: true, result}
      })
      for (const o of outcomes) if (o.error && !this.jsonEnabled()) this.logToStderr(`✗ ${o.item}: ${o.error}`)
      process.exitCode = exitCode
      return {images: outcomes}
    } finally {
      await session.close()
    }
  }
}
