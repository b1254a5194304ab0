import {expect} from 'chai'
import {randomUUID} from 'node:crypto'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {DeletionResult} from '../../packages/core/src/lifecycle/index.js'

import {readIndex, REF_NAME, verifyBackup} from '../../packages/core/src/backup/index.js'
import {sha256Digest} from '../../packages/core/src/registry/client.js'
import {createS3Client} from '../../packages/core/src/services/s3.js'
import {runCli} from '../../plugins/archived/test/helpers.js'
import {archivedDeletionDataset, factsOf, seedMongo} from '../fixtures/index.js'
import {layerBytes, pushImages} from '../fixtures/push-images.js'
import {testClient} from '../registry/helpers.js'
import {services} from '../support/harness.js'
import {linkedPluginsEnv} from '../support/plugin-cli.js'
import {type RegistryHandle, startRegistry} from '../support/registry.js'

const REPO = 'dominodatalab/environment'
const SINCE_DAYS = 30

/**
 * Backup-only mode through `drc archived delete --backup` (no --apply): the plan is backed up into the OCI
 * layout and verified, and the registry is left exactly as it was. Real registry, FerretDB, moto.
 */
describe('backup-only: drc archived delete --backup without --apply (real services)', function () {
  this.timeout(180_000)
  const dataset = archivedDeletionDataset()
  const archivedEnvs = new Set(factsOf(dataset).archivedEnvironmentIds)
  const archivedTags = new Set(
    dataset.collections.environment_revisions
      .filter((r) => archivedEnvs.has(String(r.environmentId)))
      .map((r) => r.metadata.dockerImageName.tag as string),
  )
  const archivedImages = dataset.images.filter((i) => i.repository === REPO && i.tags.some((t) => archivedTags.has(t)))
  const liveImages = dataset.images.filter((i) => i.repository === REPO && !i.tags.some((t) => archivedTags.has(t)))
  let registry: RegistryHandle | undefined
  const cleanup: string[] = []

  afterEach(async () => {
    await registry?.stop()
    registry = undefined
  })

  after(() => {
    for (const d of cleanup) rmSync(d, {force: true, recursive: true})
  })

  async function world() {
    registry = await startRegistry({deleteEnabled: true})
    await pushImages(testClient(registry.url), [...archivedImages, ...liveImages.slice(0, 2)])
    const db = `backup_only_${randomUUID().slice(0, 8)}`
    await seedMongo(services().mongo.uri, db, dataset)
    const {s3} = services()
    const dir = mkdtempSync(path.join(tmpdir(), 'drc-backup-only-'))
    cleanup.push(dir)
    const prefix = `backup-only-${randomUUID()}`
    writeFileSync(path.join(dir, 'drc.yaml'), `s3:\n  prefix: ${prefix}\n`)
    const env = {
      ...linkedPluginsEnv('archived'),
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      CONFIG_FILE: path.join(dir, 'drc.yaml'),
      DRC_MONGO_URI: services().mongo.uri,
      DRC_REGISTRY_IN_CLUSTER: 'false',
      DRC_S3_ENDPOINT: s3.endpoint,
      MONGODB_DB: db,
      OUTPUT_DIR: dir,
      REGISTRY_URL: registry.url,
      REPOSITORY: 'dominodatalab',
      S3_BUCKET: s3.bucket,
      S3_REGION: s3.region,
    }
    const client = await createS3Client(
      {s3: {bucket: s3.bucket, endpoint: s3.endpoint, prefix, region: s3.region}},
      {env: {AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey}},
    )
    return {env, store: {bucket: s3.bucket, client, prefix}}
  }

  /** Every tag of the repository with the digest it resolves to. */
  async function snapshot(): Promise<Record<string, string>> {
    const client = testClient(registry!.url)
    try {
      const out: Record<string, string> = {}
      for (const t of (await client.listTags(REPO)).sort()) out[t] = (await client.headManifest(REPO, t)).digest // eslint-disable-line no-await-in-loop
      return out
    } finally {
      await client.close()
    }
  }

  it('backs up and verifies exactly the images expected to go, deletes nothing (same tags, same digests)', async () => {
    const {env, store} = await world()
    const before = await snapshot()
    const r = await runCli(
      ['archived', 'delete', '--backup', '--force', '--json', '--unused-since-days', String(SINCE_DAYS)],
      {env},
    )
    expect(r.code, r.stderr).to.equal(0)
    const out = r.json() as DeletionResult & {backup_failed: unknown[]}
    expect(out.apply).to.equal(false)
    expect(out.deleted).to.deep.equal([])
    expect(out.planned.length).to.be.greaterThan(0)
    expect(out.in_use.length, 'the fixture has in-use archived images').to.be.greaterThan(0)
    expect(out.backed_up.sort()).to.deep.equal(out.planned.map((i) => `${i.repository}@${i.digest}`).sort())
    expect(out.backup_failed).to.deep.equal([])
    expect(await snapshot()).to.deep.equal(before)

    // S3 holds each planned image, indexed for OCI tools and verified; in-use images are not backed up.
    const {index} = await readIndex(store)
    const names = index.manifests.map((d) => d.annotations[REF_NAME]).sort()
    expect(names).to.deep.equal(out.planned.map((i) => `${i.repository}:${i.tags[0]}`).sort())
    for (const i of out.planned) {
      // eslint-disable-next-line no-await-in-loop
      const v = await verifyBackup(store, {repository: i.repository, tag: i.tags[0]})
      expect(v.verified, JSON.stringify(v.problems)).to.equal(true)
      expect(v.record?.digest).to.equal(i.digest)
    }

    store.client.destroy()
  })

  it('exits 4 naming the image whose backup failed, and still deletes nothing', async () => {
    const {env, store} = await world()
    const plan = await runCli(['archived', 'delete', '--json', '--unused-since-days', String(SINCE_DAYS)], {env})
    const {planned} = plan.json() as DeletionResult
    expect(planned.length).to.be.greaterThan(1)
    // One planned image loses a layer in registry storage: its backup cannot be made.
    const broken = archivedImages.find((i) => i.tags.includes(planned[0].tags[0]))!
    const lost = sha256Digest(layerBytes(broken.layers.at(-1)!)).slice('sha256:'.length)
    rmSync(path.join(registry!.dataDir, 'docker/registry/v2/blobs/sha256', lost.slice(0, 2), lost), {recursive: true})
    const before = await snapshot()

    const r = await runCli(['archived', 'delete', '--backup', '--json', '--unused-since-days', String(SINCE_DAYS)], {
      env,
    })
    expect(r.code, r.stderr).to.equal(4)
    const out = r.json() as DeletionResult & {backup_failed: Array<{key: string; reason: string}>}
    expect(out.backup_failed.map((f) => f.key)).to.deep.equal([`${planned[0].repository}@${planned[0].digest}`])
    expect(out.backup_failed[0].reason).to.match(/^backup failed/)
    expect(out.backed_up).to.have.length(planned.length - 1)
    expect(out.deleted).to.deep.equal([])
    expect(await snapshot()).to.deep.equal(before)
    store.client.destroy()
  })
})
