import {expect} from 'chai'
import {randomUUID} from 'node:crypto'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import type {DeletionResult} from '../../../packages/core/src/lifecycle/index.js'

import {sha256Digest} from '../../../packages/core/src/registry/client.js'
import {DeletionDisabledError} from '../../../packages/core/src/registry/errors.js'
import {archivedDeletionDataset, type Dataset, factsOf, seedMongo} from '../../../test/fixtures/index.js'
import {layerBytes, pushImages} from '../../../test/fixtures/push-images.js'
import {testClient} from '../../../test/registry/helpers.js'
import {BIN} from '../../../test/support/cli.js'
import {services} from '../../../test/support/harness.js'
import {type ClusterRegistry, startClusterRegistry} from '../../../test/support/kube-cluster.js'
import {linkedPluginsEnv} from '../../../test/support/plugin-cli.js'
import {startRegistry} from '../../../test/support/registry.js'
import {runCli} from './helpers.js'

const REPO = 'dominodatalab/environment'
const MODEL_REPO = 'dominodatalab/model'
const HERE = path.dirname(fileURLToPath(import.meta.url))

const DELETE_ENV = 'REGISTRY_STORAGE_DELETE_ENABLED'

/**
 * The deletion lifecycle end to end through bin/run.js with the archived plugin linked: a dedicated registry
 * (deletion locked) under the real Kubernetes API (simulated node), a fresh MongoDB database per test seeded from the fixtures,
 * moto S3 for backups.
 */
describe('@drc/plugin-archived: drc archived delete (lifecycle, real services)', function () {
  this.timeout(180_000)
  const dataset: Dataset = archivedDeletionDataset()
  const facts = factsOf(dataset)
  const archivedEnvs = new Set(facts.archivedEnvironmentIds)
  const archivedTags = new Set(
    dataset.collections.environment_revisions
      .filter((r) => archivedEnvs.has(String(r.environmentId)))
      .map((r) => r.metadata.dockerImageName.tag as string),
  )
  // Pushed: every archived image, plus a few images of live environments that must survive.
  const archivedImages = dataset.images.filter((i) => i.repository === REPO && i.tags.some((t) => archivedTags.has(t)))
  const liveImages = dataset.images.filter((i) => i.repository === REPO && !i.tags.some((t) => archivedTags.has(t)))
  // Pitfall P1: a tag outside the deletion set on the digest of an archived image.
  const shared = {...archivedImages[0], tags: [...archivedImages[0].tags, 'keep-me']}
  // Model slug images: every archived model's (only deleted with --model) and one live model's.
  const archivedModels = new Set(facts.archivedModelIds)
  const modelImages = dataset.images.filter((i) => i.repository === MODEL_REPO)
  const archivedModelTags = new Set(
    dataset.collections.model_versions
      .filter((v) => archivedModels.has(String(v.modelId.value)))
      .flatMap((v) => (v.metadata.builds as Array<{slug: {image: {tag: string}}}>).map((b) => b.slug.image.tag)),
  )
  const pushedModels = [
    ...modelImages.filter((i) => archivedModelTags.has(i.tags[0])),
    ...modelImages.filter((i) => !archivedModelTags.has(i.tags[0])).slice(0, 1),
  ]
  const images = [shared, ...archivedImages.slice(1), ...liveImages.slice(0, 3), ...pushedModels]
  /** Run and workspace usage older than this no longer keeps an image (the fixture uses every environment). */
  const SINCE_DAYS = 30
  /** Pushed archived tags that do not share their digest with keep-me: the plan's tags. */
  const plannedTags = archivedImages
    .slice(1)
    .flatMap((i) => i.tags)
    .filter((t) => archivedTags.has(t))
    .sort()

  /**
   * What must go: planned tags the full usage graph (built independently of the live re-check) calls unused.
   * A digest goes only when all its tags are unused.
   */
  async function expectedDeleted(db: string): Promise<string[]> {
    const {MongoClient} = await import('mongodb')
    const {buildUsageGraph} = await import('../../../packages/core/src/usage/build.js')
    const client = await MongoClient.connect(services().mongo.uri)
    try {
      const now = new Date()
      const graph = await buildUsageGraph(client.db(db), {now})
      const rules = {gracePeriodDays: 7, now, unusedSinceDays: SINCE_DAYS}
      return archivedImages
        .slice(1)
        .filter((i) => i.tags.every((t) => !graph.evaluate('environment', t, rules).inUse))
        .flatMap((i) => i.tags)
        .sort()
    } finally {
      await client.close()
    }
  }

  let pluginEnv: Record<string, string>
  let pair: ClusterRegistry | undefined

  before(() => {
    pluginEnv = linkedPluginsEnv('archived')
  })

  afterEach(async () => {
    await pair?.stop()
    pair = undefined
  })

  async function world(): Promise<{db: string; env: Record<string, string>; outputDir: string}> {
    pair = await startClusterRegistry()
    await pushImages(testClient(pair.registry.url), images)
    const db = `plugin_archived_delete_${randomUUID().slice(0, 8)}`
    await seedMongo(services().mongo.uri, db, dataset)
    const {s3} = services()
    const outputDir = mkdtempSync(path.join(tmpdir(), 'drc-archived-delete-'))
    const env = {
      ...pluginEnv,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      DOMINO_PLATFORM_NAMESPACE: pair.namespace,
      DRC_MONGO_URI: services().mongo.uri,
      DRC_REGISTRY_IN_CLUSTER: 'true',
      DRC_REGISTRY_STATEFULSET: pair.name,
      DRC_S3_ENDPOINT: s3.endpoint,
      KUBECONFIG: pair.kubeconfigPath,
      MONGODB_DB: db,
      OUTPUT_DIR: outputDir,
      REGISTRY_URL: pair.registry.url,
      REPOSITORY: 'dominodatalab',
      S3_BUCKET: s3.bucket,
      S3_REGION: s3.region,
    }
    return {db, env, outputDir}
  }

  async function presentModelTags(): Promise<string[]> {
    return (await testClient(pair!.registry.url).listTags(MODEL_REPO)).sort()
  }

  /** Every tag of the pushed images that still resolves. */
  async function presentTags(): Promise<string[]> {
    return (await testClient(pair!.registry.url).listTags(REPO)).sort()
  }

  async function mongoCounts(db: string): Promise<Record<string, number>> {
    const {MongoClient} = await import('mongodb')
    const client = await MongoClient.connect(services().mongo.uri)
    try {
      const out: Record<string, number> = {}
      for (const c of ['environments_v2', 'environment_revisions', 'models', 'model_versions'])
        // eslint-disable-next-line no-await-in-loop
        out[c] = await client.db(db).collection(c).countDocuments()
      return out
    } finally {
      await client.close()
    }
  }

  const stsEnv = async () => {
    const sts = (await pair!.get('statefulsets', pair!.name)) as {
      spec: {template: {spec: {containers: Array<{env?: Array<{name: string; value?: string}>}>}}}
    }
    return sts.spec.template.spec.containers[0].env
  }

  it('invariant 1: a dry run changes nothing and writes a plan; --apply without a TTY or --force exits 2', async () => {
    const {db, env, outputDir} = await world()
    const tagsBefore = await presentTags()
    const mongoBefore = await mongoCounts(db)

    const dry = await runCli(['archived', 'delete', '--json'], {env})
    expect(dry.code, dry.stderr).to.equal(0)
    const plan = dry.json() as DeletionResult
    expect(plan.apply).to.equal(false)
    expect(plan.deleted).to.deep.equal([])
    // Every pushed archived tag except the one sharing its digest with keep-me is either expected to go
    // (planned) or in use now (kept apart from the start).
    const all = (r: DeletionResult) => [...r.planned, ...r.in_use].flatMap((i) => i.tags).sort()
    expect(all(plan)).to.deep.equal(plannedTags)
    expect(plan.report_path).to.be.a('string')
    expect(existsSync(path.join(outputDir, 'archived-delete-plan-latest.json'))).to.equal(true)

    // The dry run tells which images MongoDB says are in use now, apart: exactly the ones apply will keep.
    const since = await runCli(['archived', 'delete', '--unused-since-days', String(SINCE_DAYS), '--json'], {env})
    const annotated = since.json() as DeletionResult
    expect(annotated.planned.flatMap((i) => i.tags).sort()).to.deep.equal(await expectedDeleted(db))
    expect(annotated.planned.every((i) => i.inUseAtPlan === null)).to.equal(true)
    expect(annotated.in_use.length).to.be.greaterThan(0)
    expect(annotated.in_use.every((i) => Boolean(i.inUseAtPlan))).to.equal(true)
    expect(all(annotated)).to.deep.equal(plannedTags)
    expect(annotated.predicted_freed_bytes).to.be.greaterThan(0)

    const refused = await runCli(['archived', 'delete', '--apply'], {env})
    expect(refused.code, refused.stderr).to.equal(2)
    expect(refused.stderr).to.match(/no terminal to ask on/)
    expect(refused.stderr).to.match(/--force/)

    expect(await presentTags()).to.deep.equal(tagsBefore)
    expect(await mongoCounts(db)).to.deep.equal(mongoBefore)
    expect(existsSync(path.join(outputDir, 'archived-delete-audit-latest.json'))).to.equal(false)
    expect(await stsEnv()).to.deep.equal([{name: DELETE_ENV, value: 'false'}])
  })

  it('invariants 2, 5, 7, 8: deletes unused archived images only, keeps shared and in-use ones, re-locks, audits', async () => {
    const {db, env, outputDir} = await world()
    const priorEnv = await stsEnv()
    const mongoBefore = await mongoCounts(db)
    const expected = await expectedDeleted(db)
    expect(expected.length, 'unused archived tags in the fixture').to.be.greaterThan(0)
    expect(expected.length, 'in-use archived tags in the fixture').to.be.lessThan(plannedTags.length)
    const r = await runCli(
      ['archived', 'delete', '--apply', '--force', '--json', '--unused-since-days', String(SINCE_DAYS)],
      {env},
    )
    expect(r.code, r.stderr).to.equal(0)
    const out = r.json() as DeletionResult

    // Invariant 2: the archived tag sharing its digest with keep-me is kept, with that reason.
    const sharedTag = archivedImages[0].tags[0]
    const kept = out.skipped.find((s) => 'tag' in s && s.tag === sharedTag)
    expect(kept?.reason).to.match(/outside the deletion set: keep-me/)
    // Usage decided at the re-check: exactly the unused archived tags went; used ones are kept as "in use".
    expect(out.deleted.flatMap((d) => d.tags).sort()).to.deep.equal(expected)
    const inUse = out.in_use
    expect(inUse.flatMap((i) => i.tags).sort()).to.deep.equal(plannedTags.filter((t) => !expected.includes(t)))
    for (const i of inUse)
      expect(
        out.skipped.some((s) => s.digest === i.digest && (s.reason ?? '').startsWith('in use at planning: ')),
      ).to.equal(true)
    // Nothing in use at planning reached the delete loop; every deleted item carries both verdicts.
    for (const d of out.deleted) expect(d.verdicts).to.deep.equal({plan: 'unused', recheck: 'unused'})

    const after = await presentTags()
    for (const t of expected) expect(after, t).not.to.include(t)
    for (const t of [sharedTag, 'keep-me', ...liveImages.slice(0, 3).flatMap((i) => i.tags)])
      expect(after, t).to.include(t)
    expect(await mongoCounts(db)).to.deep.equal(mongoBefore)
    // Without --model, archived models' images are not candidates.
    expect(await presentModelTags()).to.deep.equal(pushedModels.flatMap((i) => i.tags).sort())

    // Invariant 5: locked again (DELETE answers 405) with the prior StatefulSet setting restored.
    expect(out.lock).to.equal('relocked')
    expect(await stsEnv()).to.deep.equal(priorEnv)
    await pair!.waitForRollouts()
    const client = testClient(pair!.registry.url)
    const {digest} = await client.headManifest(REPO, 'keep-me')
    const refused = await client.deleteManifest(REPO, digest).then(
      () => null,
      (error: unknown) => error,
    )
    expect(refused).to.be.instanceOf(DeletionDisabledError)

    // Invariant 7: the audit report, with counts matching its lists.
    const auditFile = path.join(outputDir, 'archived-delete-audit-latest.json')
    const audit = JSON.parse(readFileSync(auditFile, 'utf8')) as {data: DeletionResult; schema: string}
    expect(audit.schema).to.equal('archived-delete-audit')
    expect(audit.data.counts).to.deep.equal({
      already_deleted: 0,
      backed_up: 0,
      deleted: out.deleted.length,
      deleted_unverified: 0,
      failed: 0,
      in_use: inUse.length,
      mongo_kept: 0,
      mongo_removed: 0,
      mongo_update_kept: 0,
      mongo_updated: 0,
      planned: out.planned.length,
      skipped: out.skipped.length,
    })
    expect(audit.data.counts.deleted).to.equal(audit.data.counts.planned)
    expect(audit.data.status).to.equal('completed')
    expect(audit.data.exit_code).to.equal(0)
    expect(audit.data.predicted_freed_bytes_deleted).to.be.greaterThan(0)
    expect(audit.data.predicted_freed_bytes_deleted).to.be.at.most(audit.data.predicted_freed_bytes)
  })

  it('invariant 4: --backup leaves a verified backup of every deleted image; a failed backup keeps its image (exit 4); a missing bucket refuses (exit 3)', async () => {
    const {db, env} = await world()
    const expected = await expectedDeleted(db)
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'drc-archived-bk-')), 'drc.yaml')
    writeFileSync(file, `s3:\n  prefix: archived-${randomUUID()}\n`)
    const withPrefix = {...env, CONFIG_FILE: file}

    const badBucket = await runCli(['archived', 'delete', '--apply', '--force', '--backup'], {
      env: {...withPrefix, S3_BUCKET: `missing-${randomUUID().slice(0, 8)}`},
    })
    expect(badBucket.code, badBucket.stderr).to.equal(3)
    expect(badBucket.stderr).to.match(/preflight refused: s3/)
    const untouched = await presentTags()
    for (const t of plannedTags) expect(untouched, t).to.include(t)

    // One planned image loses a layer in registry storage: its backup cannot be made, so it must stay (and the
    // run ends with 4), while every other unused image is backed up, verified and deleted.
    const broken = archivedImages[1]
    const lost = sha256Digest(layerBytes(broken.layers.at(-1)!)).slice('sha256:'.length)
    rmSync(path.join(pair!.registry.dataDir, 'docker/registry/v2/blobs/sha256', lost.slice(0, 2), lost), {
      recursive: true,
    })
    const r = await runCli(
      ['archived', 'delete', '--apply', '--force', '--backup', '--json', '--unused-since-days', String(SINCE_DAYS)],
      {env: withPrefix},
    )
    expect(r.code, r.stderr).to.equal(4)
    const out = r.json() as DeletionResult
    expect(out.failed.flatMap((f) => f.tags)).to.deep.equal(broken.tags)
    expect(out.failed[0].reason).to.match(/^backup failed/)
    const after = await presentTags()
    for (const t of broken.tags) expect(after, t).to.include(t)
    const deletedTags = expected.filter((t) => !broken.tags.includes(t))
    expect(deletedTags.length).to.be.greaterThan(0)
    expect(out.deleted.flatMap((d) => d.tags).sort()).to.deep.equal(deletedTags)
    expect(out.counts.backed_up).to.equal(out.planned.length - 1)
    for (const d of out.deleted) expect(after).not.to.include(d.tags[0])
    const verified = await Promise.all(
      out.deleted.map((d) => runCli(['backup', 'verify', `${d.repository}:${d.tags[0]}`], {env: withPrefix})),
    )
    for (const [i, v] of verified.entries())
      expect(v.code, `${out.deleted[i].tags[0]}: ${v.stdout}${v.stderr}`).to.equal(0)

    expect(out.lock).to.equal('relocked')
  })

  it('hooks: a throwing drc:preflight handler vetoes the run (exit 3, nothing unlocked); other failures warn', async () => {
    const {env} = await world()
    const link = await runCli(['plugins', 'link', path.join(HERE, 'fixtures/hook-plugin'), '--no-install'], {env})
    expect(link.code, link.stderr).to.equal(0)
    const rolloutsBefore = pair!.rollouts()

    const dry = await runCli(['archived', 'delete', '--json'], {env: {...env, DRC_TEST_PLAN_HOOK_FAILS: '1'}})
    expect(dry.code, dry.stderr).to.equal(0)
    expect((dry.json() as DeletionResult).warnings.join('\n')).to.match(/drc:plan hook failed: .*notifier unreachable/)

    const vetoed = await runCli(['archived', 'delete', '--apply', '--force'], {env: {...env, DRC_TEST_VETO: '1'}})
    expect(vetoed.code, vetoed.stderr).to.equal(3)
    expect(vetoed.stderr).to.match(/preflight vetoed by a plugin hook: .*change freeze: \d+ deletes refused/)
    const after = await presentTags()
    for (const t of plannedTags) expect(after, t).to.include(t)
    expect(pair!.rollouts()).to.equal(rolloutsBefore)
    expect(await stsEnv()).to.deep.equal([{name: DELETE_ENV, value: 'false'}])
  })

  it('invariant 5 + 7: SIGINT while the registry is being unlocked re-locks it, writes the audit, exits 130', async () => {
    const {env, outputDir} = await world()
    const priorEnv = await stsEnv()
    let signalled = false
    const r = await runCli(['archived', 'delete', '--apply', '--force', '--unused-since-days', String(SINCE_DAYS)], {
      env,
      onStderr(soFar, child) {
        // The rollout wait after the unlock patch takes at least one poll interval: signal inside it.
        if (!signalled && /unlocked deletion/.test(soFar)) {
          signalled = true
          child.kill('SIGINT')
        }
      },
    })
    expect(signalled, r.stderr).to.equal(true)
    expect(r.code, r.stderr).to.equal(130)
    await pair!.waitForRollouts()
    expect(await stsEnv()).to.deep.equal(priorEnv)
    const after = await presentTags()
    for (const t of plannedTags) expect(after, t).to.include(t)
    const audit = JSON.parse(readFileSync(path.join(outputDir, 'archived-delete-audit-latest.json'), 'utf8')) as {
      data: DeletionResult
    }
    expect(audit.data.error).to.match(/cancelled by a signal; the registry was re-locked/)
    expect(audit.data.exit_code).to.equal(130)
    expect(audit.data.counts.deleted).to.equal(0)
  })

  it('invariant 1: in a terminal, --apply asks first; "n" deletes nothing (exit 130), "y" deletes', async () => {
    const {db, env, outputDir} = await world()
    const expected = await expectedDeleted(db)
    const inTerminal = (answer: string) =>
      runCli([], {
        command: [
          'script',
          '-qec',
          `${process.execPath} ${BIN} archived delete --apply --unused-since-days ${SINCE_DAYS}`,
          '/dev/null',
        ],
        env,
        onOutput(soFar, child) {
          if (soFar.includes('[y/N]') && !child.stdin!.writableEnded) child.stdin!.end(`${answer}\n`)
        },
      })

    const no = await inTerminal('n')
    expect(no.stdout, no.stderr).to.match(/Delete \d+ manifests .* \[y\/N\]/)
    expect(no.code, no.stdout).to.equal(130)
    const untouched = await presentTags()
    for (const t of plannedTags) expect(untouched, t).to.include(t)
    const declined = JSON.parse(readFileSync(path.join(outputDir, 'archived-delete-audit-latest.json'), 'utf8')) as {
      data: DeletionResult
    }
    expect(declined.data.error).to.match(/cancelled: nothing was deleted/)
    expect(declined.data.lock).to.equal('not needed')

    const yes = await inTerminal('y')
    expect(yes.code, yes.stdout).to.equal(0)
    const after = await presentTags()
    for (const t of expected) expect(after, t).not.to.include(t)
  })

  it("--model: deletes the unused slug images of archived models, never a live model's", async () => {
    const {db, env} = await world()
    const {MongoClient} = await import('mongodb')
    const {buildUsageGraph} = await import('../../../packages/core/src/usage/build.js')
    const client = await MongoClient.connect(services().mongo.uri)
    let expected: string[]
    try {
      const now = new Date()
      const graph = await buildUsageGraph(client.db(db), {now})
      const rules = {gracePeriodDays: 7, now, unusedSinceDays: SINCE_DAYS}
      expected = pushedModels
        .flatMap((i) => i.tags)
        .filter((t) => archivedModelTags.has(t) && !graph.evaluate('model', t, rules).inUse)
        .sort()
    } finally {
      await client.close()
    }

    expect(expected.length, 'unused archived model images in the fixture').to.be.greaterThan(0)
    const r = await runCli(
      ['archived', 'delete', '--model', '--apply', '--force', '--json', '--unused-since-days', String(SINCE_DAYS)],
      {env},
    )
    expect(r.code, r.stderr).to.equal(0)
    const out = r.json() as DeletionResult
    const deletedModels = out.deleted.filter((d) => d.repository === MODEL_REPO).flatMap((d) => d.tags)
    expect(deletedModels.sort()).to.deep.equal(expected)
    const left = await presentModelTags()
    for (const t of expected) expect(left).not.to.include(t)
    for (const t of pushedModels.flatMap((i) => i.tags).filter((x) => !archivedModelTags.has(x)))
      expect(left, t).to.include(t)
  })

  it('an external registry (registry_in_cluster false) is deleted from directly: no unlock, no Kubernetes', async () => {
    const registry = await startRegistry()
    try {
      await pushImages(testClient(registry.url), images)
      const db = `plugin_archived_delete_${randomUUID().slice(0, 8)}`
      await seedMongo(services().mongo.uri, db, dataset)
      const expected = await expectedDeleted(db)
      const r = await runCli(
        ['archived', 'delete', '--apply', '--force', '--json', '--unused-since-days', String(SINCE_DAYS)],
        {
          env: {
            ...pluginEnv,
            DRC_MONGO_URI: services().mongo.uri,
            DRC_REGISTRY_IN_CLUSTER: 'false',
            MONGODB_DB: db,
            OUTPUT_DIR: mkdtempSync(path.join(tmpdir(), 'drc-archived-ext-')),
            REGISTRY_URL: registry.url,
            REPOSITORY: 'dominodatalab',
          },
        },
      )
      expect(r.code, r.stderr).to.equal(0)
      const out = r.json() as DeletionResult
      expect(out.lock).to.equal('not needed')
      expect(out.deleted.flatMap((d) => d.tags).sort()).to.deep.equal(expected)
      const left = await testClient(registry.url).listTags(REPO)
      for (const t of expected) expect(left).not.to.include(t)
    } finally {
      await registry.stop()
    }
  })

  it('invariant 8: --apply with --dry-run, and --force without --apply, are refused (exit 2) before anything is read', async () => {
    const r = await runCli(['archived', 'delete', '--apply', '--dry-run', '--force'], {env: pluginEnv})
    expect(r.code).to.equal(2)
    expect(r.stderr).to.match(/--apply and --dry-run contradict each other/)
    const forceOnly = await runCli(['archived', 'delete', '--force'], {env: pluginEnv})
    expect(forceOnly.code).to.equal(2)
    expect(forceOnly.stderr).to.match(/--force only makes sense with --apply/)
  })
})
