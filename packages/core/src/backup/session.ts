import type {DrcConfig} from '../config/types.js'
import type {RegistryClient} from '../registry/client.js'
import type {BackupStore, ImageRef} from './types.js'

import {UsageError} from '../lib/errors.js'

const DIGEST = /^sha256:[\da-f]{64}$/

/**
 * Parses `<repository>:<tag>` or `<repository>@sha256:<hex>` (no registry host: the configured registry is used).
 * A bare name is refused rather than guessed to mean `:latest`, which Domino images never use.
 */
export function parseImageRef(text: string): ImageRef {
  const at = text.indexOf('@')
  if (at > 0) {
    const digest = text.slice(at + 1)
    if (!DIGEST.test(digest)) throw new UsageError(`'${text}': the digest must be sha256:<64 hex digits>`)
    return {digest, repository: text.slice(0, at)}
  }

  const colon = text.lastIndexOf(':')
  if (colon <= 0 || colon < text.lastIndexOf('/') || colon === text.length - 1)
    throw new UsageError(`'${text}' is not an image reference`, [
      'write <repository>:<tag> or <repository>@sha256:<digest>, e.g. dominodatalab/environment:68e64edfcaf3254005314c90-1',
    ])
  return {repository: text.slice(0, colon), tag: text.slice(colon + 1)}
}

export function refText(ref: ImageRef): string {
  return ref.tag === undefined ? `${ref.repository}@${ref.digest}` : `${ref.repository}:${ref.tag}`
}

export interface BackupSession {
  close(): Promise<void>
  registry: RegistryClient
  store: BackupStore
}

function assertBucket(config: DrcConfig): string {
  if (!config.s3.bucket)
    throw new UsageError('no S3 bucket is configured for backups', [
      'set s3.bucket (or S3_BUCKET, or --s3-bucket), and s3.endpoint for an S3-compatible store',
    ])
  return config.s3.bucket
}

/** The S3 backup store alone (listing needs no registry); refuses (exit 2) when no bucket is configured. */
export async function openBackupStore(config: DrcConfig): Promise<{close(): void; store: BackupStore}> {
  const bucket = assertBucket(config)
  const {createS3Client} = await import('../services/s3.js')
  const s3 = await createS3Client(config)
  return {close: () => s3.destroy(), store: {bucket, client: s3, prefix: config.s3.prefix}}
}

/**
 * The configured registry client (or one for `registryUrl`, e.g. restore --to) and the S3 backup store;
 * refuses (exit 2) when no bucket is configured.
 */
export async function openBackupSession(config: DrcConfig, registryUrl?: string): Promise<BackupSession> {
  const bucket = assertBucket(config)
  const [{createS3Client}, {openRegistryClient}] = await Promise.all([
    import('../services/s3.js'),
    import('../registry/open.js'),
  ])
  const registry = await openRegistryClient(
    registryUrl === undefined ? config : {...config, registry: {...config.registry, url: registryUrl}},
  )
  const s3 = await createS3Client(config)
  return {
    async close() {
      s3.destroy()
      await registry.close()
    },
    registry,
    store: {bucket, client: s3, prefix: config.s3.prefix},
  }
}
