import {expect} from 'chai'
import {randomUUID} from 'node:crypto'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {DeletionResult} from '../../packages/core/src/lifecycle/index.js'
import type {ImageSpec} from '../fixtures/types.js'

import {backupItems} from '../../packages/core/src/backup/batch.js'
import {indexKey, readIndex, REF_NAME, verifyBackup} from '../../packages/core/src/backup/index.js'
import {runCli} from '../../plugins/archived/test/helpers.js'
import {pushImages} from '../fixtures/push-images.js'
import {ENV_REPO, oldId, seedDocs} from '../lifecycle/world.js'
import {testClient} from '../registry/helpers.js'
import {forwardRequest} from '../support/fault-proxy.js'
import {services} from '../support/harness.js'
import {linkedPluginsEnv} from '../support/plugin-cli.js'
import {freePort} from '../support/ports.js'
import {type RegistryHandle, startRegistry} from '../support/registry.js'
import {type BackupWorld, startBackupWorld} from './helpers.js'

const image = (tag: string): ImageSpec => ({layers: [{seed: `bb-${tag}`, size: 96}], repository: ENV_REPO, tags: [tag]})

/** Counts the PutObject calls of drc's S3 client that write `key`. */
function countPuts(world: BackupWorld, key: string): {n: number} {
  const count = {n: 0}
  const send = world.s3.send.bind(world.s3)
  world.s3.send = (async (command: {constructor: {name: string}; input: {Key?: string}}, ...rest: unknown[]) => {
    if (command.constructor.name === 'PutObjectCommand' && command.input.Key === key) count.n++
    return (send as (...a: unknown[]) => Promise<unknown>)(command, ...rest)
  }) as typeof world.s3.send
  return count
}

/**
 * The lifecycle's backup phase in batches (issue 11 part 3/8): index.json is written once per batch instead of once
 * per image, and an image is never counted as backed up (so never deleted) before index.json lists it.
 * Real registry, moto S3.
 */
describe('lifecycle backups in batches: one index.json write per batch, listed before deleted', function () {
  this.timeout(180_000)
  let world: BackupWorld | undefined
  let registry: RegistryHandle | undefined
  const dirs: string[] = []

  afterEach(async () => {
    await world?.close()
    await registry?.stop()
    world = undefined
    registry = undefined
  })

  after(() => {
    for (const d of dirs) rmSync(d, {force: true, recursive: true})
  })

  it('writes index.json once per batch; each image is in it when reported verified; a cancelled run leaves a consistent layout', async () => {
    const tags = Array.from({length: 7}, (_, i) => `${oldId()}-${i}`)
    world = await startBackupWorld(
      'backup-batch',
      tags.map((t) => image(t)),
    )
    const items = await Promise.all(
      tags.map(async (tag) => ({
        digest: (await world!.client.headManifest(ENV_REPO, tag)).digest,
        repository: ENV_REPO,
        tags: [tag],
      })),
    )
    const puts = countPuts(world, indexKey(world.store.prefix))
    const listedWhenVerified: boolean[] = []
    const names = async () => new Set((await readIndex(world!.store)).index.manifests.map((d) => d.digest))
    const seen: Array<Promise<void>> = []
    const done = await backupItems(items, world.client, world.store, {
      batchSize: 3,
      onItem(item, problem) {
        expect(problem).to.equal(null)
        seen.push(
          names().then((n) => {
            listedWhenVerified.push(n.has(item.digest))
          }),
        )
      },
    })
    await Promise.all(seen)
    expect(done.verified.size).to.equal(7)
    expect(listedWhenVerified).to.deep.equal(Array.from({length: 7}, () => true))
    expect(puts.n, 'batches of 3, 3, 1').to.equal(3)

    // Cancelled after the first batch: index.json lists exactly its images, each complete; the rest are failed.
    const other = {...world.store, prefix: `${world.store.prefix}-cancelled`}
    const abort = new AbortController()
    const cut = await backupItems(items, world.client, other, {
      batchSize: 3,
      onItem: () => abort.abort(),
      signal: abort.signal,
    })
    const {index} = await readIndex(other)
    expect(index.manifests.map((d) => d.digest).sort()).to.deep.equal(
      items
        .slice(0, 3)
        .map((i) => i.digest)
        .sort(),
    )
    for (const i of items.slice(0, 3)) {
      // eslint-disable-next-line no-await-in-loop
      const v = await verifyBackup(other, {repository: ENV_REPO, tag: i.tags[0]})
      expect(v.verified, JSON.stringify(v.problems)).to.equal(true)
    }

    expect([...cut.failed.keys()].sort()).to.deep.equal(
      items
        .slice(3)
        .map((i) => `${ENV_REPO}@${i.digest}`)
        .sort(),
    )
  })

  it('drc archived delete --backup --apply: every image is named in index.json when its DELETE is sent', async () => {
    // 30 revisions of an archived environment go; the live environment's image keeps the repository non-empty.
    const [env, live] = [oldId(), oldId()]
    const tags = Array.from({length: 30}, (_, i) => `${env}-${i + 1}`)
    const {ObjectId} = await import('mongodb')
    const o = (h: string) => ObjectId.createFromHexString(h)
    const db = `backup_batch_${randomUUID().slice(0, 8)}`
    await seedDocs(db, {
      environment_revisions: [...tags, `${live}-1`].map((tag) => ({
        _id: o(oldId()),
        environmentId: o(tag.startsWith(live) ? live : env),
        metadata: {dockerImageName: {repository: ENV_REPO, tag}, isBuilt: true},
      })),
      environments_v2: [
        {_id: o(env), isArchived: true, name: 'old'},
        {_id: o(live), isArchived: false, name: 'live'},
      ],
    })
    registry = await startRegistry({deleteEnabled: true})
    const client = testClient(registry.url)
    await pushImages(
      client,
      [...tags, `${live}-1`].map((t) => image(t)),
    )
    await client.close()

    const {s3} = services()
    const dir = mkdtempSync(path.join(tmpdir(), 'drc-backup-batch-'))
    dirs.push(dir)
    const prefix = `backup-batch-${randomUUID()}`
    writeFileSync(path.join(dir, 'drc.yaml'), `s3:\n  prefix: ${prefix}\n`)
    world = await startBackupWorld('backup-batch-reader', [])
    const store = {...world.store, prefix}

    // At each manifest DELETE, before forwarding it: is the digest named in the bucket's index.json?
    const unlisted: string[] = []
    let deletes = 0
    const upstream = new URL(registry.url)
    const agent = new http.Agent({keepAlive: true, maxSockets: 16})
    const port = await freePort()
    const proxyUrl = `http://127.0.0.1:${port}`
    const server = http.createServer((req, res) => {
      const url = req.url ?? ''
      if (req.method !== 'DELETE' || !url.includes('/manifests/')) {
        forwardRequest(req, res, upstream, {agent, locationsTo: proxyUrl})
        return
      }

      const digest = url.slice(url.lastIndexOf('/') + 1)
      deletes++
      readIndex(store)
        .then(({index}) => {
          if (!index.manifests.some((d) => d.digest === digest && d.annotations[REF_NAME])) unlisted.push(digest)
        })
        .catch(() => unlisted.push(digest))
        .finally(() => forwardRequest(req, res, upstream, {agent, locationsTo: proxyUrl}))
    })
    await new Promise<void>((resolve) => {
      server.listen(port, '127.0.0.1', resolve)
    })
    try {
      const r = await runCli(['archived', 'delete', '--backup', '--apply', '--force', '--json'], {
        env: {
          ...linkedPluginsEnv('archived'),
          AWS_ACCESS_KEY_ID: s3.accessKeyId,
          AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
          CONFIG_FILE: path.join(dir, 'drc.yaml'),
          DRC_MONGO_URI: services().mongo.uri,
          DRC_REGISTRY_IN_CLUSTER: 'false',
          DRC_S3_ENDPOINT: s3.endpoint,
          MONGODB_DB: db,
          OUTPUT_DIR: dir,
          REGISTRY_URL: proxyUrl,
          REPOSITORY: 'dominodatalab',
          S3_BUCKET: s3.bucket,
          S3_REGION: s3.region,
        },
      })
      expect(r.code, `${r.stderr}\n${r.stdout.slice(0, 3000)}`).to.equal(0)
      const out = r.json() as DeletionResult
      expect(out.counts.deleted).to.equal(tags.length)
    } finally {
      server.closeAllConnections()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
      })
      agent.destroy()
    }

    expect(deletes).to.equal(tags.length)
    expect(unlisted, 'deleted before index.json listed them').to.deep.equal([])
    const {index} = await readIndex(store)
    expect(index.manifests.map((d) => d.annotations[REF_NAME]).sort()).to.deep.equal(
      tags.map((t) => `${ENV_REPO}:${t}`).sort(),
    )
  })
})
