import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import {expect} from 'chai'
import {randomUUID} from 'node:crypto'
import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import type {ImageSpec} from '../fixtures/types.js'
import type {RegistryHandle} from '../support/registry.js'

import {
  backupImage,
  type BackupStore,
  blobKey,
  manifestKey,
  recordKey,
  restoreImage,
  S3BackupError,
  verifyBackup,
} from '../../packages/core/src/backup/index.js'
import {DrcError} from '../../packages/core/src/lib/errors.js'
import {type RegistryClient, sha256Digest} from '../../packages/core/src/registry/client.js'
import {parseManifest} from '../../packages/core/src/registry/media-types.js'
import {pushImages} from '../fixtures/push-images.js'
import {testClient} from '../registry/helpers.js'
import {startHostileRegistry} from '../registry/hostile-registry.js'
import {type BackupWorld, multiPlatformImage, startBackupWorld} from './helpers.js'

const MIB = 1024 * 1024
const ENV = 'acme/environment'
const MULTI = 'acme/model'
const IMAGES: ImageSpec[] = [
  // 6 MiB > the 5 MiB part size below: this layer goes up as a real multipart upload.
  {
    layers: [
      {seed: 'base', size: 3000},
      {seed: 'big', size: 6 * MIB},
    ],
    repository: ENV,
    tags: ['v1'],
  },
  {
    layers: [
      {seed: 'base', size: 3000},
      {seed: 'b', size: 200},
    ],
    repository: ENV,
    tags: ['v2'],
  },
  multiPlatformImage(MULTI, 'multi'),
]

/** Every blob digest of an image as the registry serves it (independent of the backup code's walk). */
async function registryBlobs(client: RegistryClient, repository: string, reference: string): Promise<Set<string>> {
  const out = new Set<string>()
  const m = await client.getManifest(repository, reference)
  if (m.manifest.kind === 'index') {
    for (const c of m.manifest.manifests) {
      // eslint-disable-next-line no-await-in-loop
      for (const d of await registryBlobs(client, repository, c.digest)) out.add(d)
    }
  } else {
    out.add(m.manifest.config.digest)
    for (const l of m.manifest.layers) out.add(l.digest)
  }

  return out
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of stream) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

describe('backup to S3 (moto) from a real registry', () => {
  let reg: RegistryHandle
  let client: RegistryClient
  let s3: S3Client
  let store: BackupStore
  let world: BackupWorld | undefined

  async function listKeys(prefix: string): Promise<string[]> {
    const out: string[] = []
    let token: string | undefined
    do {
      // eslint-disable-next-line no-await-in-loop
      const page = await s3.send(
        new ListObjectsV2Command({Bucket: store.bucket, ContinuationToken: token, Prefix: `${prefix}/`}),
      )
      out.push(...(page.Contents ?? []).map((o) => o.Key!))
      token = page.NextContinuationToken
    } while (token)

    return out.sort()
  }

  before(async function () {
    this.timeout(120_000)
    world = await startBackupWorld('backup-test', IMAGES)
    ;({client, reg, s3, store} = world)
  })

  after(async () => {
    await world?.close()
  })

  it('stores each blob once across images, manifests with their media type, and a record per image', async () => {
    const opts = {now: () => new Date('2026-01-02T03:04:05Z'), partSize: 5 * MIB}
    const v1 = await backupImage(client, store, {repository: ENV, tag: 'v1'}, opts)
    const v2 = await backupImage(client, store, {repository: ENV, tag: 'v2'}, opts)
    const multi = await backupImage(client, store, {repository: MULTI, tag: 'multi'}, opts)

    const expected = new Set([
      ...(await registryBlobs(client, ENV, 'v1')),
      ...(await registryBlobs(client, ENV, 'v2')),
      ...(await registryBlobs(client, MULTI, 'multi')),
    ])
    const keys = await listKeys(store.prefix)
    const blobKeys = keys.filter((k) => k.startsWith(`${store.prefix}/blobs/`))
    // OCI layout: manifests are blobs too (v1, v2, the index and its two children).
    const manifestDigests = [...v1.record.manifests, ...v2.record.manifests, ...multi.record.manifests].map(
      (m) => m.digest,
    )
    expect(manifestDigests).to.have.length(5)
    expect(blobKeys).to.deep.equal([...expected, ...manifestDigests].map((d) => blobKey(store.prefix, d)).sort())
    // base is shared by all three images but uploaded only by the first.
    expect(v1.blobsUploaded).to.equal(3)
    expect(v2.blobsSkipped).to.equal(1)
    expect(v2.blobsUploaded).to.equal(2)
    expect(multi.blobsSkipped).to.equal(1)
    expect(v1.blobsUploaded + v2.blobsUploaded + multi.blobsUploaded).to.equal(expected.size)

    expect(keys.filter((k) => k.startsWith(`${store.prefix}/manifests/`))).to.have.length(0)
    expect(keys).to.include.members([`${store.prefix}/oci-layout`, `${store.prefix}/index.json`])
    expect(multi.record.manifests).to.have.length(3)
    const index = await client.getManifest(MULTI, 'multi')
    expect(multi.record.digest).to.equal(index.digest)
    const got = await s3.send(
      new GetObjectCommand({Bucket: store.bucket, Key: manifestKey(store.prefix, index.digest)}),
    )
    expect(got.ContentType).to.equal(index.mediaType)
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(index.body)).to.equal(true)

    const recordObj = await s3.send(
      new GetObjectCommand({Bucket: store.bucket, Key: recordKey(store.prefix, ENV, 'v1')}),
    )
    const record = JSON.parse(await recordObj.Body!.transformToString())
    expect(record).to.include({
      backed_up_at: '2026-01-02T03:04:05.000Z',
      digest: (await client.headManifest(ENV, 'v1')).digest,
      repository: ENV,
      tag: 'v1',
    })
    expect(record.blobs.map((b: {size: number}) => b.size)).to.include(6 * MIB)

    // The big blob's bytes in S3 are exactly the registry's.
    const big = (await client.getManifest(ENV, 'v1')).manifest
    if (big.kind !== 'image') throw new Error('v1 is not an image')
    const bigDigest = big.layers.find((l) => l.size === 6 * MIB)!.digest
    const obj = await s3.send(new GetObjectCommand({Bucket: store.bucket, Key: blobKey(store.prefix, bigDigest)}))
    expect(sha256Digest(Buffer.from(await obj.Body!.transformToByteArray()))).to.equal(bigDigest)
  })

  it('verifies every backed-up image', async () => {
    for (const ref of [
      {repository: ENV, tag: 'v1'},
      {repository: ENV, tag: 'v2'},
      {repository: MULTI, tag: 'multi'},
    ]) {
      // eslint-disable-next-line no-await-in-loop
      const result = await verifyBackup(store, ref)
      expect(result.problems, `${ref.repository}:${ref.tag}`).to.deep.equal([])
      expect(result.verified).to.equal(true)
      expect(result.checked.blobs).to.equal(result.record!.blobs.length)
    }

    const absent = await verifyBackup(store, {repository: ENV, tag: 'never-backed-up'})
    expect(absent.verified).to.equal(false)
    expect(absent.problems[0]).to.include({key: recordKey(store.prefix, ENV, 'never-backed-up'), kind: 'missing'})
  })

  it('fails verification naming a deleted, truncated or altered object', async () => {
    const own: BackupStore = {...store, prefix: `backup-test-${randomUUID()}`}
    const {record} = await backupImage(client, own, {repository: MULTI, tag: 'multi'})
    expect((await verifyBackup(own, {repository: MULTI, tag: 'multi'})).verified).to.equal(true)

    // A truncated blob (the object is rewritten without drc's metadata, as a foreign writer would).
    const blob = record.blobs[0]
    const bKey = blobKey(own.prefix, blob.digest)
    await s3.send(new PutObjectCommand({Body: Buffer.alloc(blob.size - 1), Bucket: own.bucket, Key: bKey}))
    // A child manifest deleted.
    const child = record.manifests[1]
    const cKey = manifestKey(own.prefix, child.digest)
    await s3.send(new DeleteObjectCommand({Bucket: own.bucket, Key: cKey}))

    const result = await verifyBackup(own, {repository: MULTI, tag: 'multi'})
    expect(result.verified).to.equal(false)
    expect(result.problems).to.deep.include({
      detail: 'manifest object missing',
      digest: child.digest,
      key: cKey,
      kind: 'missing',
    })
    const sizeProblem = result.problems.find((p) => p.key === bKey)
    expect(sizeProblem?.kind).to.equal('size')

    // The index bytes altered (same length): the digest no longer matches.
    const iKey = manifestKey(own.prefix, record.digest)
    const original = await s3.send(new GetObjectCommand({Bucket: own.bucket, Key: iKey}))
    const bytes = Buffer.from(await original.Body!.transformToByteArray())
    bytes[bytes.length - 2] = bytes.at(-2) === 0x20 ? 0x0a : 0x20
    await s3.send(new PutObjectCommand({Body: bytes, Bucket: own.bucket, Key: iKey}))
    const altered = await verifyBackup(own, {repository: MULTI, tag: 'multi'})
    expect(altered.verified).to.equal(false)
    expect(altered.problems.find((p) => p.key === iKey)?.kind).to.equal('digest')
  })

  it('refuses a tampered record (digest with `..`) before it builds any S3 key or registry URL', async () => {
    const own: BackupStore = {...store, prefix: `backup-test-${randomUUID()}`}
    const {record, recordKey: rKey} = await backupImage(client, own, {repository: ENV, tag: 'v2'})
    const bad = 'sha256:../../../../etc/passwd'
    const tampered = {...record, blobs: [{...record.blobs[0], digest: bad}, ...record.blobs.slice(1)]}
    await s3.send(
      new PutObjectCommand({
        Body: JSON.stringify(tampered),
        Bucket: own.bucket,
        ContentType: 'application/json',
        Key: rKey,
      }),
    )
    const result = await verifyBackup(own, {repository: ENV, tag: 'v2'})
    expect(result.verified).to.equal(false)
    expect(result.problems).to.have.length(1)
    expect(result.problems[0].kind).to.equal('record')
    expect(result.problems[0].detail).to.include('record blobs[0] digest').and.include(bad)

    const hostile = await startHostileRegistry({})
    const hostileClient = testClient(hostile.url)
    try {
      const error = await restoreImage(hostileClient, own, {repository: ENV, tag: 'v2'}).catch((error_) => error_)
      expect(error).to.be.instanceOf(DrcError)
      expect((error as Error).message)
        .to.include('record blobs[0] digest')
        .and.include(bad)
      expect(hostile.requests).to.deep.equal([])
    } finally {
      await hostileClient.close()
      await hostile.stop()
    }
  })

  it('restores deleted and garbage-collected images with identical digests and blob bytes', async function () {
    this.timeout(60_000)
    const refs = [
      {repository: ENV, tag: 'v1'},
      {repository: MULTI, tag: 'multi'},
    ] as const
    const before = new Map<string, {blobs: Map<string, Buffer>; digest: string}>()
    for (const ref of refs) {
      const digests = await registryBlobs(client, ref.repository, ref.tag) // eslint-disable-line no-await-in-loop
      const blobs = new Map<string, Buffer>()
      for (const d of digests) {
        // eslint-disable-next-line no-await-in-loop
        blobs.set(d, await readAll((await client.getBlob(ref.repository, d)).stream))
      }

      // eslint-disable-next-line no-await-in-loop
      before.set(ref.repository, {blobs, digest: (await client.headManifest(ref.repository, ref.tag)).digest})
    }

    // Delete everything (v2 too, so the shared base layer loses its last reference), then collect garbage.
    const v2 = await client.headManifest(ENV, 'v2')
    await client.deleteManifest(ENV, v2.digest)
    for (const ref of refs) await client.deleteManifest(ref.repository, before.get(ref.repository)!.digest) // eslint-disable-line no-await-in-loop
    const gc = await reg.garbageCollect({deleteUntagged: true})
    expect(gc.code, gc.output).to.equal(0)
    expect(reg.blobBytesOnDisk()).to.be.below(1000)

    for (const ref of refs) {
      // eslint-disable-next-line no-await-in-loop
      const restored = await restoreImage(client, store, ref)
      expect(restored.digest).to.equal(before.get(ref.repository)!.digest)
      // The base layer is back once v1 is restored, and acme/model still links it: it is found, not re-sent.
      const expectedSkipped = ref.repository === MULTI ? 1 : 0
      expect(restored.blobsSkipped).to.equal(expectedSkipped)
      expect(restored.blobsUploaded).to.equal(before.get(ref.repository)!.blobs.size - expectedSkipped)
      // eslint-disable-next-line no-await-in-loop
      const head = await client.headManifest(ref.repository, ref.tag)
      expect(head.digest).to.equal(before.get(ref.repository)!.digest)
      for (const [d, bytes] of before.get(ref.repository)!.blobs) {
        // eslint-disable-next-line no-await-in-loop
        const pulled = await readAll((await client.getBlob(ref.repository, d)).stream)
        expect(pulled.equals(bytes), d).to.equal(true)
      }
    }

    // The index's children came back by digest and parse as images.
    const idx = await client.getManifest(MULTI, 'multi')
    if (idx.manifest.kind !== 'index') throw new Error('multi is not an index')
    for (const c of idx.manifest.manifests) {
      // eslint-disable-next-line no-await-in-loop
      const child = await client.getManifest(MULTI, c.digest)
      expect(parseManifest(child.body, child.mediaType, c.digest).kind).to.equal('image')
    }

    // A second restore finds every blob in place and uploads nothing.
    const again = await restoreImage(client, store, {repository: ENV, tag: 'v1'})
    expect(again.blobsUploaded).to.equal(0)
  })

  it('refuses to store a blob whose streamed bytes do not hash to its digest', async () => {
    const own: BackupStore = {...store, prefix: `backup-test-${randomUUID()}`}
    const layer = {seed: 'rot', size: 4000}
    await pushImages(client, [{layers: [layer], repository: 'acme/rot', tags: ['r1']}])
    const m = (await client.getManifest('acme/rot', 'r1')).manifest
    if (m.kind !== 'image') throw new Error('r1 is not an image')
    const {digest} = m.layers[0]
    // Bit rot on the registry's disk: same size, one byte changed (the registry serves it unchecked).
    const hex = digest.slice('sha256:'.length)
    const file = path.join(reg.dataDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data')
    const bytes = readFileSync(file)
    bytes[0] = 255 - bytes[0]
    writeFileSync(file, bytes)

    const error = await backupImage(client, own, {repository: 'acme/rot', tag: 'r1'}).catch((error_: unknown) => error_)
    expect(error).to.be.instanceOf(DrcError)
    expect((error as Error).message)
      .to.include(digest)
      .and.include('nothing was stored')
    expect(await listKeys(own.prefix)).to.not.include(blobKey(own.prefix, digest))
    // No record either: the record is written only after every object.
    expect(await listKeys(own.prefix)).to.not.include(recordKey(own.prefix, 'acme/rot', 'r1'))
  })

  it('names bucket and key when S3 refuses (wrong bucket)', async () => {
    const wrong: BackupStore = {...store, bucket: `drc-no-such-bucket-${randomUUID().slice(0, 8)}`}
    const error = await backupImage(client, wrong, {repository: ENV, tag: 'v1'}).catch((error_: unknown) => error_)
    expect(error).to.be.instanceOf(S3BackupError)
    expect(error).to.be.instanceOf(DrcError)
    const {message} = error as Error
    expect(message).to.include(`s3://${wrong.bucket}/${store.prefix}/blobs/sha256/`)
    expect(message).to.include('NoSuchBucket')
    expect((error as DrcError).suggestions.join(' ')).to.include(wrong.bucket)

    const verifyError = await verifyBackup(wrong, {repository: ENV, tag: 'v1'}).catch((error_: unknown) => error_)
    expect(verifyError).to.be.instanceOf(S3BackupError)
    expect((verifyError as Error).message).to.include(`s3://${wrong.bucket}/${recordKey(store.prefix, ENV, 'v1')}`)
  })
})
