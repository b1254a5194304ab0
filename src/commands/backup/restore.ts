import type {ImageRef, RestoreResult} from '@drc/core/backup/types.js'

import {openBackupSession, parseImageRef} from '@drc/core/backup/session.js'
import {isValidRepository} from '@drc/core/config/validate.js'
import {BaseCommand} from '@drc/core/lib/base-command.js'
import {UsageError} from '@drc/core/lib/errors.js'
import {forEachItem, type ItemOutcome} from '@drc/core/lib/per-item.js'
import {Args, Flags} from '@oclif/core'

/** The predecessor's `backup_restore restore --tags …`: its action word is accepted; its other actions are not here. */
function dropActionWord(positional: string[]): string[] {
  const [first, ...rest] = positional
  if (first === 'restore') return rest
  if (first === 'backup' || first === 'delete')
    throw new UsageError(`'${first}' is not an action of drc backup restore`, [
      first === 'backup'
        ? 'back images up with `drc backup create <repository>:<tag>`'
        : 'delete images with a deletion strategy, e.g. `drc archived delete`',
    ])
  return positional
}

function checkUrl(url: string): string {
  try {
    const u = new URL(url.includes('://') ? url : `https://${url}`)
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)')
    return url
  } catch {
    throw new UsageError(`--to '${url}' is not a registry URL`, ['write e.g. --to https://registry.example.com:5000'])
  }
}

export default class BackupRestore extends BaseCommand<typeof BackupRestore> {
  static args = {
    images: Args.string({description: '<repository>:<tag> or <repository>@sha256:<digest>'}),
  }
  static description = `Push images back into a registry from their S3 backups.

Name images as <repository>:<tag> arguments, or by tag with --tags (looked up in the bucket's index.json; a tag backed up in several repositories needs --repository). Blobs the registry lacks are streamed from S3 to the registry (memory stays small whatever the layer size) and hashed on the way: a blob whose bytes do not match its digest is refused and never committed. Then index children by digest, then the manifest under its tag. The restored digest must equal the backed-up one, so running images and deployed models that reference the digest work again. --to restores into another registry. Exit code 0 when all were restored, 4 when some failed, 1 when all failed.

Alias (the predecessor's syntax): drc backup_restore restore --tags t1 t2`
  static examples = [
    '<%= config.bin %> <%= command.id %> dominodatalab/environment:68e64edfcaf3254005314c90-1',
    '<%= config.bin %> <%= command.id %> --tags 68e64edfcaf3254005314c90-1 68e64edfcaf3254005314c90-2',
    '<%= config.bin %> <%= command.id %> --tags 68e64edfcaf3254005314c90-1 --to https://other-registry:5000 --s3-bucket my-backups',
  ]
  static flags = {
    'dry-run': Flags.boolean({description: 'Only say what would be restored, and where.'}),
    region: Flags.string({description: 'S3 region (overrides s3.region).'}),
    repository: Flags.string({description: 'With --tags: the repository the tags belong to.'}),
    's3-bucket': Flags.string({description: 'Bucket to restore from (overrides s3.bucket / S3_BUCKET).'}),
    tags: Flags.string({description: 'Tags to restore (looked up in the backup index).', multiple: true}),
    to: Flags.string({description: 'Registry URL to restore into (default: registry.url).'}),
    'to-repository': Flags.string({description: 'Restore into this repository instead of the backed-up one.'}),
    workers: Flags.integer({description: 'Blobs streamed at once per image (default 4).', min: 1}),
  }
  static hiddenAliases = ['backup_restore']
  static strict = false
  static summary = 'Restore images from their S3 backups into a registry (streamed, digest-checked).'

  protected configFlags(): Record<string, unknown> {
    return {'s3.bucket': this.flags['s3-bucket'], 's3.region': this.flags.region}
  }

  async run(): Promise<{images: Array<ItemOutcome<null | RestoreResult>>}> {
    const named = dropActionWord(this.positional)
    const refs = new Map<string, ImageRef | string>(named.map((a) => [a, parseImageRef(a)]))
    const tags = this.flags.tags ?? []
    if (refs.size === 0 && tags.length === 0)
      throw new UsageError('name the images to restore', ['give <repository>:<tag> arguments or --tags t1 t2'])
    const target = this.flags['to-repository']
    if (target !== undefined && !isValidRepository(target))
      throw new UsageError(`--to-repository '${target}' contains invalid characters (allowed: letters, digits, _ - /)`)
    const to = this.flags.to === undefined ? undefined : checkUrl(this.flags.to)
    const config = await this.loadDrcConfig()
    const [{resolveTags, restoreImage}, session] = await Promise.all([
      import('@drc/core/backup/index.js'),
      openBackupSession(config, to),
    ])
    try {
      // A tag that resolves to nothing (or to several repositories) is a failed item, named with the reason.
      for (const r of await resolveTags(session.store, tags, this.flags.repository)) refs.set(r.tag, r.ref ?? r.error!)
      const where = to ?? config.registry.url
      const {exitCode, outcomes} = await forEachItem([...refs.keys()], async (text) => {
        const ref = refs.get(text)!
        if (typeof ref === 'string') throw new UsageError(ref)
        if (this.flags['dry-run']) {
          this.log(`would restore ${text} → ${where}/${target ?? ref.repository}`)
          return {ok: true, result: null}
        }

        const result = await restoreImage(session.registry, session.store, ref, {
          concurrency: this.flags.workers,
          repository: target,
        })
        if (!this.jsonEnabled())
          this.log(
            `✓ ${text} → ${where}/${result.repository}${result.tag ? `:${result.tag}` : ''}@${result.digest} (${result.blobsUploaded} blobs uploaded, ${result.blobsSkipped} present)`,
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
