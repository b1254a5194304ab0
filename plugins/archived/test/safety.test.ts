import {expect} from 'chai'
import {randomUUID} from 'node:crypto'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import type {DeletionResult} from '../../../packages/core/src/lifecycle/index.js'

import {sha256Digest} from '../../../packages/core/src/registry/client.js'
import {archivedDeletionDataset, type Dataset, factsOf, seedMongo} from '../../../test/fixtures/index.js'
import {layerBytes, pushImages} from '../../../test/fixtures/push-images.js'
import {testClient} from '../../../test/registry/helpers.js'
import {BIN} from '../../../test/support/cli.js'
import {services} from '../../../test/support/harness.js'
import {linkedPluginsEnv} from '../../../test/support/plugin-cli.js'
import {type RegistryHandle, startRegistry} from '../../../test/support/registry.js'
import {runCli} from './helpers.js'

const REPO = 'dominodatalab/environment'
const HERE = path.dirname(fileURLToPath(import.meta.url))
const SINCE_DAYS = 30

const readAudit = (outputDir: string) =>
  JSON.parse(readFileSync(path.join(outputDir, 'archived-delete-audit-latest.json'), 'utf8')) as Audit

interface Audit {
  data: DeletionResult
}

/**
 * The plan promises only what will happen, the build chain rule, signals outside the unlocked window and the
 * all-failed exit code: `drc archived delete` through bin/run.js against a real external registry, FerretDB and
 * moto S3 (no Kubernetes: the registry is not in the cluster, so these run fast).
 */
describe('@drc/plugin-archived: plan figures, build chain, signals, exit codes (real services)', function () {
  this.timeout(240_000)
  const dataset: Dataset = archivedDeletionDataset()
  const archivedEnvs = new Set(factsOf(dataset).archivedEnvironmentIds)
  const revisions = dataset.collections.environment_revisions
  const archivedRevs = revisions.filter((r) => archivedEnvs.has(String(r.environmentId)))
  const archivedTags = new Set(archivedRevs.map((r) => r.metadata.dockerImageName.tag as string))
  const archivedImages = dataset.images.filter((i) => i.repository === REPO && i.tags.some((t) => archivedTags.has(t)))
  const liveImages = dataset.images.filter((i) => i.repository === REPO && !i.tags.some((t) => archivedTags.has(t)))
  const images = [...archivedImages, ...liveImages.slice(0, 3)]
  const tagOf = (r: (typeof revisions)[number]) => r.metadata.dockerImageName.tag as string

  let registry: RegistryHandle | undefined
  let pluginEnv: Record<string, string>

  before(() => {
    pluginEnv = linkedPluginsEnv('archived')
  })

  afterEach(async () => {
    await registry?.stop()
    registry = undefined
  })

  async function world(): Promise<{db: string; env: Record<string, string>; outputDir: string}> {
    registry = await startRegistry()
    await pushImages(testClient(registry.url), images)
    const db = `plugin_archived_safety_${randomUUID().slice(0, 8)}`
    await seedMongo(services().mongo.uri, db, dataset)
    const {s3} = services()
    const outputDir = mkdtempSync(path.join(tmpdir(), 'drc-archived-safety-'))
    const file = path.join(outputDir, 'drc.yaml')
    writeFileSync(file, `s3:\n  prefix: safety-${randomUUID()}\n`)
    const env = {
      ...pluginEnv,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      CONFIG_FILE: file,
      DRC_MONGO_URI: services().mongo.uri,
      DRC_REGISTRY_IN_CLUSTER: 'false',
      DRC_S3_ENDPOINT: s3.endpoint,
      MONGODB_DB: db,
      OUTPUT_DIR: outputDir,
      REGISTRY_URL: registry.url,
      REPOSITORY: 'dominodatalab',
      S3_BUCKET: s3.bucket,
      S3_REGION: s3.region,
    }
    return {db, env, outputDir}
  }

  /** Archived tags the full usage graph calls unused (the build chain rule is not applied here). */
  async function unusedArchivedTags(db: string): Promise<string[]> {
    const {MongoClient} = await import('mongodb')
    const {buildUsageGraph} = await import('../../../packages/core/src/usage/build.js')
    const client = await MongoClient.connect(services().mongo.uri)
    try {
      const now = new Date()
      const graph = await buildUsageGraph(client.db(db), {now})
      const rules = {gracePeriodDays: 7, now, unusedSinceDays: SINCE_DAYS}
      return [...archivedTags].filter((t) => !graph.evaluate('environment', t, rules).inUse).sort()
    } finally {
      await client.close()
    }
  }

  const presentTags = async () => (await testClient(registry!.url).listTags(REPO)).sort()
  const apply = ['archived', 'delete', '--apply', '--force', '--json', '--unused-since-days', String(SINCE_DAYS)]

  it('build chain: archived revisions a kept revision was cloned from (recursively) are kept, with the reason', async () => {
    const {db, env} = await world()
    const unused = await unusedArchivedTags(db)
    expect(unused.length, 'unused archived tags in the fixture').to.be.greaterThan(2)
    // A live revision (kept: not a candidate) cloned from archived revision A, itself cloned from archived A2.
    const [a, a2] = archivedRevs.filter((r) => unused.includes(tagOf(r)))
    const live = revisions.find((r) => !archivedEnvs.has(String(r.environmentId)))!
    const {MongoClient} = await import('mongodb')
    const client = await MongoClient.connect(services().mongo.uri)
    try {
      const col = client.db(db).collection('environment_revisions')
      await col.updateOne({_id: live._id}, {$set: {clonedEnvironmentRevisionId: a._id}})
      await col.updateOne({_id: a._id}, {$set: {clonedEnvironmentRevisionId: a2._id}})
    } finally {
      await client.close()
    }

    const protectedTags = [tagOf(a), tagOf(a2)]
    const check = (r: DeletionResult) => {
      const planned = r.planned.flatMap((i) => i.tags)
      for (const t of protectedTags) {
        expect(planned, t).not.to.include(t)
        const kept = r.skipped.find((s) => 'tag' in s && s.tag === t)
        expect(kept?.reason, t).to.match(/^build chain: kept revision /)
      }

      expect(r.skipped.find((s) => 'tag' in s && s.tag === tagOf(a))?.reason).to.contain(String(live._id))
    }

    const dry = await runCli(['archived', 'delete', '--json', '--unused-since-days', String(SINCE_DAYS)], {env})
    expect(dry.code, dry.stderr).to.equal(0)
    check(dry.json() as DeletionResult)
    const r = await runCli(apply, {env})
    expect(r.code, r.stderr).to.equal(0)
    const out = r.json() as DeletionResult
    check(out)
    expect(out.deleted.length).to.be.greaterThan(0)
    const after = await presentTags()
    for (const t of protectedTags) expect(after, t).to.include(t)
  })

  it('figures cover only what goes: prediction = GC-freed bytes, confirmation, backup; drc reports rescans after --apply', async () => {
    const {db, env} = await world()
    const unused = await unusedArchivedTags(db)
    const reports = await runCli(['reports', '--json'], {env})
    expect(reports.code, reports.stderr).to.equal(0)

    const dry = (
      await runCli(['archived', 'delete', '--json', '--unused-since-days', String(SINCE_DAYS)], {env})
    ).json() as DeletionResult
    expect(dry.in_use.length, 'in-use archived images in the plan').to.be.greaterThan(0)
    expect(dry.planned.flatMap((i) => i.tags).sort()).to.deep.equal(unused)

    // The confirmation counts and lists only what goes; in-use ones are listed apart as kept.
    const no = await runCli([], {
      command: [
        'script',
        '-qec',
        `${process.execPath} ${BIN} archived delete --apply --unused-since-days ${SINCE_DAYS}`,
        '/dev/null',
      ],
      env,
      onOutput(soFar, child) {
        if (soFar.includes('[y/N]') && !child.stdin!.writableEnded) child.stdin!.end('n\n')
      },
    })
    expect(no.stdout).to.match(
      new RegExp(`Delete ${dry.planned.length} manifests \\(${unused.length} tags\\) to delete`),
    )
    const listed = no.stdout.match(/ {2}delete \S+@sha256:[\da-f]{64}/g) ?? []
    expect(listed.length, no.stdout).to.equal(dry.planned.length)
    for (const i of dry.in_use)
      expect(no.stdout).to.match(new RegExp(`keep\\s+${i.repository}@${i.digest}.*in use now`))

    const before = registry!.blobBytesOnDisk()
    const r = await runCli([...apply, '--backup'], {env})
    expect(r.code, r.stderr).to.equal(0)
    const out = r.json() as DeletionResult
    // Backed up: exactly the deleted ones, never an in-use image that stays.
    expect(out.backed_up.sort()).to.deep.equal(out.deleted.map((d) => `${d.repository}@${d.digest}`).sort())
    const inUseTag = out.in_use[0].tags[0]
    const verify = await runCli(['backup', 'verify', `${REPO}:${inUseTag}`], {env})
    expect(verify.code, verify.stdout).to.equal(1)

    // The prediction is what garbage collection really frees.
    const gc = await registry!.garbageCollect()
    expect(gc.code, gc.output).to.equal(0)
    expect(out.predicted_freed_bytes).to.be.greaterThan(0)
    expect(before - registry!.blobBytesOnDisk()).to.equal(out.predicted_freed_bytes)
    expect(out.predicted_freed_bytes_deleted).to.equal(out.predicted_freed_bytes)

    // drc reports does not present the pre-deletion analysis.
    const again = await runCli(['reports', '--json'], {env})
    expect(again.code, again.stderr).to.equal(0)
    expect((again.json() as {reused: boolean}).reused).to.equal(false)
  })

  it('every item failed → exit 1 (not 4); the audit says so', async () => {
    const {env, outputDir} = await world()
    // Every archived image loses a layer in storage: no backup can be made, so every planned item fails.
    for (const image of archivedImages) {
      const lost = sha256Digest(layerBytes(image.layers.at(-1)!)).slice('sha256:'.length)
      rmSync(path.join(registry!.dataDir, 'docker/registry/v2/blobs/sha256', lost.slice(0, 2), lost), {
        force: true,
        recursive: true,
      })
    }

    const r = await runCli([...apply, '--backup'], {env})
    const out = r.json() as DeletionResult
    expect(out.planned.length).to.be.greaterThan(0)
    expect(out.failed.length).to.equal(out.planned.length)
    expect(r.code, r.stderr).to.equal(1)
    expect(readAudit(outputDir).data.exit_code).to.equal(1)
  })

  for (const when of ['planning', 'backup'] as const)
    it(`SIGINT during ${when} of an --apply run: exit 130, audit report with status cancelled, nothing deleted`, async () => {
      const {env, outputDir} = await world()
      const link = await runCli(['plugins', 'link', path.join(HERE, 'fixtures/hook-plugin'), '--no-install'], {env})
      expect(link.code, link.stderr).to.equal(0)
      const tagsBefore = await presentTags()
      const trigger = when === 'planning' ? /planning is slow on purpose/ : /Backing up to S3/
      let signalled = false
      const r = await runCli(
        ['archived', 'delete', '--apply', '--force', '--unused-since-days', String(SINCE_DAYS), '--backup'],
        {
          env: {...env, DRC_TEST_PLAN_HOOK_SLEEP_MS: when === 'planning' ? '20000' : '0'},
          onStderr(soFar, child) {
            if (!signalled && trigger.test(soFar)) {
              signalled = true
              child.kill('SIGINT')
            }
          },
        },
      )
      expect(signalled, r.stderr).to.equal(true)
      expect(r.code, r.stderr).to.equal(130)
      expect(
        existsSync(path.join(outputDir, 'archived-delete-audit-latest.json')),
        readdirSync(outputDir).join(','),
      ).to.equal(true)
      const audit = readAudit(outputDir).data
      expect(audit.status).to.equal('cancelled')
      expect(audit.phase).to.equal(when === 'planning' ? 'plan' : 'backup')
      expect(audit.exit_code).to.equal(130)
      expect(audit.counts.deleted).to.equal(0)
      expect(await presentTags()).to.deep.equal(tagsBefore)
    })
})
