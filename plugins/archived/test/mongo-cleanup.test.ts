import {expect} from 'chai'
import {randomUUID} from 'node:crypto'
import {mkdtempSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {DeletionResult} from '../../../packages/core/src/lifecycle/index.js'
import type {RestoreResult} from '../../../packages/core/src/mongo/restore.js'

import {pushImages} from '../../../test/fixtures/push-images.js'
import {
  countingProxy,
  type CountingProxy,
  ENV_REPO,
  MODEL_REPO,
  oldId,
  resultOf,
  seedDocs,
  snapshot,
} from '../../../test/lifecycle/world.js'
import {testClient} from '../../../test/registry/helpers.js'
import {services} from '../../../test/support/harness.js'
import {linkedPluginsEnv} from '../../../test/support/plugin-cli.js'
import {type RegistryHandle, startRegistry} from '../../../test/support/registry.js'
import {runCli} from './helpers.js'

const all = (s: Record<string, string[]>) => Object.values(s).flat().sort()

/**
 * --mongo-cleanup end to end (invariant 6) and its undo: `drc archived delete --model --mongo-cleanup` through
 * bin/run.js against a real registry (behind a proxy that fails one DELETE) and FerretDB, then `drc mongo restore`.
 */
describe('@drc/plugin-archived: --mongo-cleanup removes only records of deleted images; drc mongo restore undoes it', function () {
  this.timeout(240_000)
  let pluginEnv: Record<string, string>
  let registry: RegistryHandle | undefined
  let proxy: CountingProxy | undefined

  before(() => {
    pluginEnv = linkedPluginsEnv('archived')
  })

  afterEach(async () => {
    await proxy?.stop()
    await registry?.stop()
    proxy = undefined
    registry = undefined
  })

  it('removes the records of deleted images past the guards, saves them whole, and restore brings them back equal', async () => {
    const {Binary, BSON, Double, Int32, Long, ObjectId} = await import('mongodb')
    const oid = (hex: string) => ObjectId.createFromHexString(hex)
    const [envA, envB, envC, live, model] = [oldId(), oldId(), oldId(), oldId(), oldId()]
    const [a1, a2, b1, b2, c1, c2, l1, v1] = Array.from({length: 8}, () => oldId())
    const revision = (id: string, env: string, n: number, built = true) => ({
      _id: oid(id),
      createdAt: new Date('2025-01-02T03:04:05.678Z'),
      environmentId: oid(env),
      metadata: {
        authorId: oid(oldId()),
        isBuilt: built,
        number: new Int32(n),
        ...(built ? {dockerImageName: {repository: ENV_REPO, tag: `${env}-${n}`}} : {}),
      },
      size: Long.fromString('9007199254740993'),
    })
    const environment = (id: string, archived: boolean) => ({
      _id: oid(id),
      blob: new Binary(Buffer.from('drc')),
      isArchived: archived,
      name: `env-${id.slice(-4)}`,
      ratio: new Double(2),
      visibility: 'Public',
    })
    const modelTag = `${model}-v1-2025108131540_0fPPRse8`
    const db = `mongo_cleanup_${randomUUID().slice(0, 8)}`
    await seedDocs(db, {
      environment_revisions: [
        revision(a1, envA, 1),
        revision(a2, envA, 2),
        revision(b1, envB, 1),
        revision(b2, envB, 2),
        revision(c1, envC, 1),
        // Never built: no image, so it remains and keeps environment C.
        revision(c2, envC, 2, false),
        revision(l1, live, 1),
      ],
      environments_v2: [
        environment(envA, true),
        environment(envB, true),
        environment(envC, true),
        environment(live, false),
      ],
      model_versions: [
        {
          _id: oid(v1),
          environmentRevisionId: oid(l1),
          metadata: {builds: [{slug: {image: {repository: MODEL_REPO, tag: modelTag}}}]},
          modelId: {value: oid(model)},
        },
      ],
      models: [{_id: oid(model), environmentId: oid(live), isArchived: true, name: 'old-model'}],
    })
    registry = await startRegistry()
    const client = testClient(registry.url)
    const push = (repository: string, tag: string) =>
      pushImages(client, [{layers: [{seed: `mc-${tag}`, size: 512}], repository, tags: [tag]}])
    const digests = new Map<string, string>()
    for (const [repo, tag] of [
      [ENV_REPO, `${envA}-1`],
      [ENV_REPO, `${envA}-2`],
      [ENV_REPO, `${envB}-1`],
      [ENV_REPO, `${envB}-2`],
      [ENV_REPO, `${envC}-1`],
      [ENV_REPO, `${live}-1`],
      [MODEL_REPO, modelTag],
    ])
      // eslint-disable-next-line no-await-in-loop
      digests.set(tag, (await push(repo, tag))[0].digest)
    proxy = await countingProxy(registry.url)
    // The delete of B2's image fails: its revision stays, and so does environment B.
    proxy.failDigests.add(digests.get(`${envB}-2`)!)
    const outputDir = mkdtempSync(path.join(tmpdir(), 'drc-mongo-cleanup-'))
    const configFile = path.join(outputDir, 'drc.yaml')
    writeFileSync(configFile, 'retry:\n  max_retries: 0\n')
    const env = {
      ...pluginEnv,
      CONFIG_FILE: configFile,
      DRC_MONGO_URI: services().mongo.uri,
      DRC_REGISTRY_IN_CLUSTER: 'false',
      MONGODB_DB: db,
      OUTPUT_DIR: outputDir,
      REGISTRY_URL: proxy.url,
      REPOSITORY: 'dominodatalab',
    }
    const before = await snapshot(db)

    // The model repository holds only the archived model's image: emptying it must be allowed explicitly.
    const r = await runCli(
      [
        'archived',
        'delete',
        '--environment',
        '--model',
        '--apply',
        '--force',
        '--mongo-cleanup',
        '--allow-empty-repository',
        '--json',
      ],
      {env},
    )
    expect(r.code, r.stderr + r.stdout).to.equal(4)
    const out = resultOf<DeletionResult>(r.stdout)
    expect(out.failed, r.stdout).to.be.an('array')
    expect(out.failed.flatMap((f) => f.tags)).to.deep.equal([`${envB}-2`])
    expect(out.deleted.flatMap((d) => d.tags).sort()).to.deep.equal(
      [`${envA}-1`, `${envA}-2`, `${envB}-1`, `${envC}-1`, modelTag].sort(),
    )
    const mc = out.mongo_cleanup!
    const ids = (list: Array<{collection: string; id: string}>) => list.map((x) => `${x.collection}/${x.id}`).sort()
    expect(ids(mc.removed)).to.deep.equal(
      [
        `environment_revisions/${a1}`,
        `environment_revisions/${a2}`,
        `environment_revisions/${b1}`,
        `environment_revisions/${c1}`,
        `environments_v2/${envA}`,
        `model_versions/${v1}`,
        `models/${model}`,
      ].sort(),
    )
    const reason = (id: string) => mc.kept.find((k) => k.id === id)?.reason
    expect(reason(b2)).to.match(/was not deleted \(failed/)
    expect(reason(envB)).to.match(/was not deleted \(failed/)
    expect(reason(envC)).to.equal(`its revision ${c2} remains`)
    expect(out.counts.mongo_removed).to.equal(7)

    // MongoDB now: exactly those seven documents are gone.
    const after = await snapshot(db)
    const removedJson = mc.removed.map((s) => JSON.stringify(s.document)).sort()
    expect(all(after)).to.deep.equal(all(before).filter((d) => !removedJson.includes(d)))
    expect(all(before).filter((d) => removedJson.includes(d)).length).to.equal(7)
    // The undo journal exists, private, with the same documents.
    expect((statSync(mc.journal!).mode % 0o1000).toString(8)).to.equal('600')
    const journal = JSON.parse(readFileSync(mc.journal!, 'utf8')) as {removed: Array<{document: unknown}>}
    expect(journal.removed.map((s) => JSON.stringify(s.document)).sort()).to.deep.equal(removedJson)

    // Restore: --dry-run writes nothing; then every document comes back equal (types included).
    const dry = await runCli(['mongo', 'restore', out.report_path!, '--dry-run', '--json'], {env})
    expect(dry.code, dry.stderr).to.equal(0)
    expect(resultOf<RestoreResult>(dry.stdout).restored.length).to.equal(7)
    expect(await snapshot(db)).to.deep.equal(after)
    const restored = await runCli(['mongo', 'restore', out.report_path!, '--json'], {env})
    expect(restored.code, restored.stderr).to.equal(0)
    expect(resultOf<RestoreResult>(restored.stdout).restored.length).to.equal(7)
    expect(await snapshot(db)).to.deep.equal(before)
    // The Long beyond 2^53 survived as a Long (a relaxed round trip would have lost it).
    const a1Doc = BSON.EJSON.parse(
      before.environment_revisions.find((d) => d.includes(a1))!,
      {relaxed: false},
    )
    expect(a1Doc.size).to.be.instanceOf(Long)

    // Again: every _id exists, every document is refused with the reason (exit 4), nothing changes.
    const again = await runCli(['mongo', 'restore', out.report_path!, '--json'], {env})
    expect(again.code, again.stderr).to.equal(4)
    const {refused} = resultOf<RestoreResult>(again.stdout)
    expect(refused.length).to.equal(7)
    for (const x of refused) expect(x.reason).to.match(/exists again/)
    expect(await snapshot(db)).to.deep.equal(before)
  })
})
