import type {BackupResult} from '@drc/core/backup/types.js'

import {openBackupSession, parseImageRef} from '@drc/core/backup/session.js'
import {BaseCommand} from '@drc/core/lib/base-command.js'
import {forEachItem, type ItemOutcome} from '@drc/core/lib/per-item.js'
import {progress, transferLine} from '@drc/core/lib/progress.js'
import {humanBytes} from '@drc/core/reports/format.js'
import {Args, Flags} from '@oclif/core'

/** Layers from this size on get a progress line with bytes and rate. */
const LARGE_BLOB = 16 * 1024 * 1024

export default class BackupCreate extends BaseCommand<typeof BackupCreate> {
  static args = {
    images: Args.string({description: '<repository>:<tag> or <repository>@sha256:<digest>', required: true}),
  }
  static description = `Back up images from the registry to S3, content-addressed, and verify each backup.

The bucket's s3://<s3.bucket>/<s3.prefix>/ is an OCI image layout, so "aws s3 sync" of it gives a directory skopeo reads (skopeo copy oci:<dir>:<repository>:<tag> docker://…): oci-layout, index.json (one entry per <repository>:<tag>, annotation org.opencontainers.image.ref.name; updated with S3 conditional writes, so concurrent backups keep each other's entries), blobs/sha256/<hex> (layers, configs and manifests, each once, so layers shared between images are stored once; manifest bytes exactly as served), and drc's record images/<repository>/<tag>.json. Blobs stream from the registry to S3 and are hashed on the way: a blob whose bytes do not match its digest is not stored. Multi-arch images are backed up with every platform. Exit code 0 when every image was backed up and verified, 4 when some failed, 1 when all failed.`
  static examples = [
    '<%= config.bin %> <%= command.id %> dominodatalab/environment:68e64edfcaf3254005314c90-1',
    '<%= config.bin %> <%= command.id %> dominodatalab/model@sha256:<digest> --json',
  ]
  static flags = {
    's3-bucket': Flags.string({description: 'Bucket of the backups (overrides s3.bucket / S3_BUCKET).'}),
  }
  static strict = false
  static summary = 'Back up images to S3 (content-addressed) and verify each backup.'

  protected configFlags(): Record<string, unknown> {
    return {'s3.bucket': this.flags['s3-bucket']}
  }

  async run(): Promise<{images: Array<ItemOutcome<BackupResult & {verified: boolean}>>}> {
    const refs = this.positional.map((a) => ({ref: parseImageRef(a), text: a}))
    const config = await this.loadDrcConfig()
    const [{backupImage, verifyBackup}, session] = await Promise.all([
      import('@drc/core/backup/index.js'),
      openBackupSession(config),
    ])
    const shown = progress({quiet: this.jsonEnabled()})
    try {
      const byText = new Map(refs.map((r) => [r.text, r.ref]))
      const {exitCode, outcomes} = await forEachItem(
        refs.map((r) => r.text),
        async (text) => {
          const ref = byText.get(text)!
          const result = await backupImage(session.registry, session.store, ref, {
            // Large layers only: small ones are done before a line would help.
            onBlob(b) {
              if (b.bytes >= LARGE_BLOB)
                shown.done(`backup: ${text} ${b.digest.slice(0, 19)} ${transferLine(b.bytes, b.ms)}`)
            },
          })
          const check = await verifyBackup(session.store, ref)
          if (!this.jsonEnabled())
            this.log(
              `${check.verified ? '✓' : '✗'} ${text}  ${result.record.digest}  uploaded ${result.blobsUploaded} blobs ` +
                `(${humanBytes(result.bytesUploaded)}), ${result.blobsSkipped} already stored` +
                (check.verified
                  ? ''
                  : `; verify failed: ${check.problems.map((p) => `${p.key}: ${p.detail}`).join('; ')}`),
            )
          return {ok: check.verified, result: {...result, verified: check.verified}}
        },
      )
      for (const o of outcomes) if (o.error && !this.jsonEnabled()) this.logToStderr(`✗ ${o.item}: ${o.error}`)
      process.exitCode = exitCode
      return {images: outcomes}
    } finally {
      await session.close()
    }
  }
}
