import type {S3Client} from '@aws-sdk/client-s3'

import {randomUUID} from 'node:crypto'

import type {BackupStore} from '../../packages/core/src/backup/index.js'
import type {RegistryClient} from '../../packages/core/src/registry/client.js'
import type {ImageSpec} from '../fixtures/types.js'

import {createS3Client} from '../../packages/core/src/services/s3.js'
import {pushImages} from '../fixtures/push-images.js'
import {testClient} from '../registry/helpers.js'
import {services} from '../support/harness.js'
import {type RegistryHandle, startRegistry} from '../support/registry.js'

/** A two-platform index (amd64 shares the `base` layer of the single-platform test images, arm64 does not). */
export function multiPlatformImage(repository: string, tag: string): ImageSpec {
  return {
    layers: [],
    platforms: [
      {
        architecture: 'amd64',
        layers: [
          {seed: 'base', size: 3000},
          {seed: 'amd', size: 120},
        ],
        os: 'linux',
      },
      {architecture: 'arm64', layers: [{seed: 'arm', size: 50}], os: 'linux'},
    ],
    repository,
    tags: [tag],
  }
}

export interface BackupWorld {
  client: RegistryClient
  /** Closes the registry client and the S3 client, stops the registry. */
  close(): Promise<void>
  reg: RegistryHandle
  s3: S3Client
  /** The shared moto bucket under a prefix of this world's own. */
  store: BackupStore
}

/**
 * Its own registry with delete enabled (tests delete and garbage-collect) holding `images`, and drc's own S3
 * client factory (path-style for the moto endpoint) with moto's static keys.
 */
export async function startBackupWorld(prefixStem: string, images: ImageSpec[]): Promise<BackupWorld> {
  const settings = services().s3
  const s3 = await createS3Client(
    {s3: {bucket: settings.bucket, endpoint: settings.endpoint, prefix: 'unused', region: settings.region}},
    {env: {AWS_ACCESS_KEY_ID: settings.accessKeyId, AWS_SECRET_ACCESS_KEY: settings.secretAccessKey}},
  )
  const store: BackupStore = {bucket: settings.bucket, client: s3, prefix: `${prefixStem}-${randomUUID()}`}
  let reg: RegistryHandle | undefined
  let client: RegistryClient | undefined
  const close = async (): Promise<void> => {
    await client?.close()
    s3.destroy()
    await reg?.stop()
  }

  try {
    reg = await startRegistry({deleteEnabled: true})
    client = testClient(reg.url)
    await pushImages(client, images)
  } catch (error) {
    await close()
    throw error
  }

  return {client, close, reg, s3, store}
}
