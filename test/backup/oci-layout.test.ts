import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import {expect} from 'chai'
import {execFile} from 'node:child_process'
import {randomUUID} from 'node:crypto'
import {createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {pipeline} from 'node:stream/promises'
import {promisify} from 'node:util'

import type {ImageSpec} from '../fixtures/types.js'

import {
  backupImage,
  type BackupStore,
  blobKey,
  indexKey,
  legacyManifestKey,
  listBackups,
  migrateLegacy,
  readIndex,
  REF_NAME,
  restoreImage,
  verifyBackup,
} from '../../packages/core/src/backup/index.js'
import {withStore} from '../../packages/core/src/backup/store.js'
import {DrcError} from '../../packages/core/src/lib/errors.js'
import {type RegistryClient} from '../../packages/core/src/registry/client.js'
import {MediaType} from '../../packages/core/src/registry/media-types.js'
import {pushImages} from '../fixtures/push-images.js'
import {testClient} from '../registry/helpers.js'
import {startRegistry} from '../support/registry.js'
import {type BackupWorld, multiPlatformImage, startBackupWorld} from './helpers.js'

const run = promisify(execFile)
const MIB = 1024 * 1024
const ENV = 'acme/environment'
const MULTI = 'acme/model'
const IMAGES: ImageSpec[] = [
  {
    layers: [
      {seed: 'base', size: 3000},
      {seed: 'x1', size: 4000},
    ],
    repository: ENV,
    tags: ['v1'],
  },
  multiPlatformImage(MULTI, 'multi'),
]

/** `aws s3 sync s3://bucket/prefix dir` with the SDK: every object under the prefix, as files. */
async function downloadPrefix(store: BackupStore, dir: string): Promise<void> {
  const s = withStore(store)
  for (const o of await s.listKeys(`${store.prefix}/`)) {
    const file = path.join(dir, o.key.slice(store.prefix.length + 1))
    mkdirSync(path.dirname(file), {recursive: true})
    // eslint-disable-next-line no-await-in-loop
    const got = await s.getStream(o.key)
    // eslint-disable-next-line no-await-in-loop
    await pipeline(got!.stream, createWriteStream(file))
  }
}

async function skopeoCopy(dir: string, ref: string, dest: string, all: boolean) {
  const args = ['copy', '--preserve-digests', ...(all ? ['--all'] : []), '--dest-tls-verify=false']
  return run('/usr/bin/skopeo', [...args, `oci:${dir}:${ref}`, `docker://${dest}`], {timeout: 60_000})
}

describe('backups form an OCI image layout (moto S3, real registries, Debian skopeo)', () => {
  let client: RegistryClient
  let s3: S3Client
  let store: BackupStore
  let world: BackupWorld | undefined
  const tmp: string[] = []

  before(async function () {
    this.timeout(120_000)
    world = await startBackupWorld('oci-test', IMAGES)
    ;({client, s3, store} = world)
  })

  after(async () => {
    await world?.close()
    for (const d of tmp) rmSync(d, {force: true, recursive: true})
  })

  it('skopeo restores a Docker-format image and an OCI index from the synced bucket, same digests', async function () {
    this.timeout(120_000)
    await backupImage(client, store, {repository: ENV, tag: 'v1'})
    await backupImage(client, store, {repository: MULTI, tag: 'multi'})
    const dir = mkdtempSync(path.join(tmpdir(), 'drc-oci-'))
    tmp.push(dir)
    await downloadPrefix(store, dir)
    expect(JSON.parse(readFileSync(path.join(dir, 'oci-layout'), 'utf8'))).to.deep.equal({imageLayoutVersion: '1.0.0'})
    const index = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8'))
    const names = index.manifests.map((d: {annotations: Record<string, string>}) => d.annotations[REF_NAME])
    expect(names).to.have.members([`${ENV}:v1`, `${MULTI}:multi`])
    // The Docker v2 manifest keeps its bytes (and digest); the descriptor uses the OCI type skopeo looks for.
    const v1Entry = index.manifests.find(
      (d: {annotations: Record<string, string>}) => d.annotations[REF_NAME] === `${ENV}:v1`,
    )
    expect(v1Entry.mediaType).to.equal(MediaType.OCI_MANIFEST)
    expect(v1Entry.annotations['drc.backup.media-type']).to.equal(MediaType.DOCKER_MANIFEST)

    const empty = await startRegistry()
    const target = testClient(empty.url)
    try {
      const {host} = new URL(empty.url)
      await skopeoCopy(dir, `${ENV}:v1`, `${host}/${ENV}:v1`, false)
      await skopeoCopy(dir, `${MULTI}:multi`, `${host}/${MULTI}:multi`, true)
      for (const [repository, tag] of [
        [ENV, 'v1'],
        [MULTI, 'multi'],
      ]) {
        // eslint-disable-next-line no-await-in-loop
        const [orig, restored] = await Promise.all([
          client.headManifest(repository, tag),
          target.headManifest(repository, tag),
        ])
        expect(restored.digest, `${repository}:${tag}`).to.equal(orig.digest)
      }

      expect((await target.headManifest(ENV, 'v1')).mediaType).to.equal(MediaType.DOCKER_MANIFEST)
    } finally {
      await target.close()
      await empty.stop()
    }
  })

  it('keeps every entry when backups of the same prefix update index.json concurrently', async function () {
    this.timeout(60_000)
    const own: BackupStore = {...store, prefix: `oci-test-${randomUUID()}`}
    const specs: ImageSpec[] = Array.from({length: 8}, (_, i) => ({
      layers: [{seed: `c${i}`, size: 500}],
      repository: 'acme/conc',
      tags: [`t${i}`],
    }))
    await pushImages(client, specs)
    await Promise.all(specs.map((s) => backupImage(client, own, {repository: s.repository, tag: s.tags[0]})))
    const {index} = await readIndex(own)
    expect(index.manifests.map((d) => d.annotations[REF_NAME]).sort()).to.deep.equal(
      specs.map((s) => `acme/conc:${s.tags[0]}`).sort(),
    )
    const listed = await listBackups(own, {repository: 'acme/conc', tagPrefix: 't1'})
    expect(listed.map((b) => b.tag)).to.deep.equal(['t1'])
    expect(listed[0].bytes).to.be.above(500)
    // Backing a ref up again replaces its entry, it does not add a second one.
    await backupImage(client, own, {repository: 'acme/conc', tag: 't1'})
    expect((await readIndex(own)).index.manifests).to.have.length(8)
  })

  it('restores a 64 MiB layer streamed: peak RSS growth stays far below the layer size', async function () {
    this.timeout(180_000)
    const own: BackupStore = {...store, prefix: `oci-test-${randomUUID()}`}
    await pushImages(client, [{layers: [{seed: 'huge', size: 64 * MIB}], repository: 'acme/big', tags: ['b1']}])
    await backupImage(client, own, {repository: 'acme/big', tag: 'b1'})
    const fresh = await startRegistry()
    const target = testClient(fresh.url)
    try {
      const base = process.memoryUsage().rss
      let peak = base
      const timer = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss)
      }, 5)
      try {
        const r = await restoreImage(target, own, {repository: 'acme/big', tag: 'b1'})
        expect(r.blobsUploaded).to.equal(2)
      } finally {
        clearInterval(timer)
      }

      const growth = peak - base
      expect(growth, `RSS grew ${(growth / MIB).toFixed(1)} MiB`).to.be.below(24 * MIB)
      expect((await target.headManifest('acme/big', 'b1')).digest).to.equal(
        (await client.headManifest('acme/big', 'b1')).digest,
      )
    } finally {
      await target.close()
      await fresh.stop()
    }
  })

  it('reads a backup in the old layout (manifests/, no index.json), and migrate brings it into the OCI layout', async function () {
    this.timeout(60_000)
    const own: BackupStore = {...store, prefix: `oci-test-${randomUUID()}`}
    const ref = {repository: MULTI, tag: 'multi'}
    const {record} = await backupImage(client, own, ref)
    // Rewrite it as drc wrote backups before the layout: manifests under manifests/, no index.json or oci-layout.
    for (const m of record.manifests) {
      const from = blobKey(own.prefix, m.digest)
      // eslint-disable-next-line no-await-in-loop
      await s3.send(
        new CopyObjectCommand({
          Bucket: own.bucket,
          CopySource: `${own.bucket}/${from}`,
          Key: legacyManifestKey(own.prefix, m.digest),
        }),
      )
      await s3.send(new DeleteObjectCommand({Bucket: own.bucket, Key: from})) // eslint-disable-line no-await-in-loop
    }

    await s3.send(new DeleteObjectCommand({Bucket: own.bucket, Key: indexKey(own.prefix)}))
    const legacy = await verifyBackup(own, ref)
    expect(legacy.problems.map((p) => p.detail)).to.deep.equal([`index.json has no entry for ${MULTI}:multi`])
    expect(await listBackups(own)).to.deep.equal([])

    const fresh = await startRegistry()
    const target = testClient(fresh.url)
    try {
      expect((await restoreImage(target, own, ref)).digest).to.equal(record.digest)
      expect((await target.headManifest(MULTI, 'multi')).digest).to.equal(record.digest)
    } finally {
      await target.close()
      await fresh.stop()
    }

    const migrated = await migrateLegacy(own)
    expect(migrated).to.deep.equal({indexed: [`${MULTI}:multi`], manifestsCopied: 3, problems: []})
    expect((await verifyBackup(own, ref)).problems).to.deep.equal([])
    expect((await listBackups(own)).map((b) => b.digest)).to.deep.equal([record.digest])
    expect(await migrateLegacy(own)).to.deep.equal({indexed: [], manifestsCopied: 0, problems: []})
  })

  it('refuses a tampered S3 blob while streaming it, naming it, and the registry keeps no such blob', async function () {
    this.timeout(60_000)
    const own: BackupStore = {...store, prefix: `oci-test-${randomUUID()}`}
    await pushImages(client, [{layers: [{seed: 'tamper', size: 300_000}], repository: 'acme/tamper', tags: ['t1']}])
    const {record} = await backupImage(client, own, {repository: 'acme/tamper', tag: 't1'})
    const layer = record.blobs.find((b) => b.size === 300_000)!
    const key = blobKey(own.prefix, layer.digest)
    const got = await s3.send(new GetObjectCommand({Bucket: own.bucket, Key: key}))
    const bytes = Buffer.from(await got.Body!.transformToByteArray())
    bytes[bytes.length - 1] = 255 - bytes.at(-1)!
    // Same size and drc's metadata kept: only hashing the streamed bytes can notice.
    await s3.send(new PutObjectCommand({Body: bytes, Bucket: own.bucket, Key: key, Metadata: got.Metadata}))

    const fresh = await startRegistry()
    const target = testClient(fresh.url)
    try {
      const error = await restoreImage(target, own, {repository: 'acme/tamper', tag: 't1'}).catch(
        (error_: unknown) => error_,
      )
      expect(error).to.be.instanceOf(DrcError)
      expect((error as Error).message)
        .to.include(key)
        .and.include(layer.digest)
        .and.include('hashing to sha256:')
        .and.include('not committed')
      expect(await target.headBlob('acme/tamper', layer.digest)).to.equal(null)
    } finally {
      await target.close()
      await fresh.stop()
    }
  })
})
