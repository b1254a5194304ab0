import {expect} from 'chai'
import {randomUUID} from 'node:crypto'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {MongoChangeResult} from '../../../packages/core/src/lifecycle/mongo-change-command.js'
import type {RestoreResult} from '../../../packages/core/src/mongo/restore.js'

import {loadConfig} from '../../../packages/core/src/config/index.js'
import {pushImages} from '../../../test/fixtures/push-images.js'
import {ENV_REPO, MODEL_REPO, oldId, resultOf, seedDocs, snapshot} from '../../../test/lifecycle/world.js'
import {testClient} from '../../../test/registry/helpers.js'
import {services} from '../../../test/support/harness.js'
import {linkedPluginsEnv} from '../../../test/support/plugin-cli.js'
import {freePort} from '../../../test/support/ports.js'
import {type RegistryHandle, startRegistry} from '../../../test/support/registry.js'
import {runCli} from '../../archived/test/helpers.js'
import {planMissing, recheckMissing} from '../src/missing.js'

const DAY = 86_400_000
const keys = (list: Array<{collection: string; id: string}>) => list.map((x) => `${x.collection}/${x.id}`).sort()
const all = (s: Record<string, string[]>) => Object.values(s).flat().sort()

/**
 * `drc references delete` through bin/run.js against a registry of its own and FerretDB: exactly the records
 * whose every image is missing from a fresh listing go (active revisions, records in use within the grace window,
 * fresh ones and images on another registry stay), `drc mongo restore` puts them back equal, and an untrusted
 * listing (failed, empty, mostly missing) refuses with exit 3 and removes nothing.
 */
describe('@drc/plugin-references: drc references delete (registry + FerretDB)', function () {
  this.timeout(300_000)
  const db = `plugin_references_delete_${randomUUID().slice(0, 8)}`
  const [envA, envB, envC, model] = [oldId(), oldId(), oldId(), oldId()]
  // Revisions: a1 present; a2 missing, active; a3 missing (goes); a4 missing, ran 2 days ago; a5 missing, fresh;
  // b2 missing in an archived environment (goes); b3 missing, the archived environment's active revision (which
  // the usage graph does not protect); c1..c6 present; other: on another registry.
  const rev = Object.fromEntries(
    ['a1', 'a2', 'a3', 'a4', 'b1', 'b2', 'b3', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'other'].map((k) => [k, oldId()]),
  )
  rev.a5 = oldId(0)
  // Versions of an archived model: v1 stored as the `<modelId>-v1` prefix of a present tag; v2 missing (goes); v3
  // one build of two missing; v4 present. Of a live model (its versions are in use): v5 missing, v6 present.
  const ver = {v1: oldId(), v2: oldId(), v3: oldId(), v4: oldId(), v5: oldId(), v6: oldId()}
  const liveModel = oldId()
  const envOf = (k: string) => ({a: envA, b: envB, c: envC, o: envC})[k[0]]!
  const tagOf = (k: string) => `${envOf(k)}-${k.slice(1) || '9'}`
  const modelTag = (n: number) => `${model}-v${n}-2025108131540_x${n}`
  const expectedRemoved = [
    `environment_revisions/${rev.a3}`,
    `environment_revisions/${rev.b2}`,
    `model_versions/${ver.v2}`,
  ]
  let registry: RegistryHandle | undefined
  let env: Record<string, string>

  before(async () => {
    const {ObjectId} = await import('mongodb')
    const oid = (hex: string) => ObjectId.createFromHexString(hex)
    const revision = (k: string) => ({
      _id: oid(rev[k]),
      environmentId: oid(envOf(k)),
      metadata: {
        dockerImageName: {repository: k === 'other' ? 'quay.example.com/acme/environment' : ENV_REPO, tag: tagOf(k)},
        isBuilt: true,
      },
    })
    const version = (id: string, tags: string[], of = model) => ({
      _id: oid(id),
      metadata: {builds: tags.map((tag) => ({slug: {image: {repository: MODEL_REPO, tag}}}))},
      modelId: {value: oid(of)},
    })
    await seedDocs(db, {
      environment_revisions: Object.keys(rev).map((k) => revision(k)),
      environments_v2: [
        {_id: oid(envA), activeRevisionId: oid(rev.a2), isArchived: false, name: 'a'},
        {_id: oid(envB), activeRevisionId: oid(rev.b3), isArchived: true, name: 'b'},
        {_id: oid(envC), activeRevisionId: oid(rev.c6), isArchived: false, name: 'c'},
      ],
      model_versions: [
        version(ver.v1, [`${model}-v1`]),
        version(ver.v2, [modelTag(2)]),
        version(ver.v3, [modelTag(3), `${model}-v3-gone`]),
        version(ver.v4, [modelTag(4)]),
        version(ver.v5, [`${liveModel}-v5-gone`], liveModel),
        version(ver.v6, [`${liveModel}-v6-here`], liveModel),
      ],
      models: [
        {_id: oid(model), isArchived: true, name: 'm'},
        {_id: oid(liveModel), isArchived: false, name: 'live'},
      ],
      runs: [
        {
          _id: new ObjectId(),
          completed: new Date(Date.now() - 2 * DAY),
          environmentId: oid(envA),
          environmentRevisionId: oid(rev.a4),
          started: new Date(Date.now() - 2 * DAY),
          status: 'Succeeded',
          volumeSpecification: {_t: 'RunEphemeralVolumeSpecification'},
        },
      ],
    })
    registry = await startRegistry()
    const client = testClient(registry.url)
    const present = [
      ...['a1', 'b1', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6'].map((k) => ({repository: ENV_REPO, tag: tagOf(k)})),
      ...[1, 3, 4].map((n) => ({repository: MODEL_REPO, tag: modelTag(n)})),
      {repository: MODEL_REPO, tag: `${liveModel}-v6-here`},
    ]
    await pushImages(
      client,
      present.map((p) => ({layers: [{seed: `ref-${p.tag}`, size: 256}], repository: p.repository, tags: [p.tag]})),
    )
    const outputDir = mkdtempSync(path.join(tmpdir(), 'drc-references-'))
    const configFile = path.join(outputDir, 'drc.yaml')
    writeFileSync(configFile, 'retry:\n  max_retries: 0\n')
    env = {
      ...linkedPluginsEnv('references'),
      CONFIG_FILE: configFile,
      DRC_MONGO_URI: services().mongo.uri,
      MONGODB_DB: db,
      OUTPUT_DIR: outputDir,
      REGISTRY_URL: registry.url,
      REPOSITORY: 'dominodatalab',
    }
  })

  after(async () => {
    await registry?.stop()
  })

  it('dry run: lists exactly the records whose every image is missing, with why the others stay; changes nothing', async () => {
    const before = await snapshot(db)
    const r = await runCli(['references', 'delete', '--json'], {env})
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    const out = resultOf<MongoChangeResult>(r.stdout)
    expect(keys(out.planned)).to.deep.equal([...expectedRemoved].sort())
    const why = (id: string) => out.kept.find((k) => k.id === id)?.reason
    expect(why(rev.a2)).to.match(/active revision/)
    expect(why(rev.b3)).to.match(/active revision of environment/)
    expect(why(rev.a4)).to.match(/in use: .*execution/)
    expect(why(rev.a5)).to.match(/grace period/)
    expect(why(rev.other)).to.match(/another registry/)
    expect(why(ver.v5)).to.match(/in use: configuration: 1 model/)
    expect(out.mongo_cleanup).to.equal(null)
    expect(await snapshot(db)).to.deep.equal(before)
  })

  it('--apply (predecessor alias) removes them, saved whole; drc mongo restore puts them back equal', async () => {
    const before = await snapshot(db)
    const r = await runCli(['delete_unused_references', '--apply', '--force', '--json'], {env})
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    const out = resultOf<MongoChangeResult>(r.stdout)
    expect(keys(out.mongo_cleanup!.removed)).to.deep.equal([...expectedRemoved].sort())
    const after = await snapshot(db)
    const removedJson = new Set(out.mongo_cleanup!.removed.map((s) => JSON.stringify(s.document)))
    expect(all(after)).to.deep.equal(all(before).filter((d) => !removedJson.has(d)))
    const restored = await runCli(['mongo', 'restore', out.report_path!, '--json'], {env})
    expect(restored.code, restored.stderr).to.equal(0)
    expect(resultOf<RestoreResult>(restored.stdout).restored.length).to.equal(3)
    expect(await snapshot(db)).to.deep.equal(before)
  })

  it('a registry listing that fails refuses with exit 3, naming the registry; nothing removed', async () => {
    const before = await snapshot(db)
    const closed = `127.0.0.1:${await freePort()}`
    const r = await runCli(['references', 'delete', '--apply', '--force'], {env: {...env, REGISTRY_URL: closed}})
    expect(r.code, r.stderr).to.equal(3)
    expect(r.stderr).to.contain(`cannot list the tags of dominodatalab/environment on registry ${closed}`)
    expect(r.stderr).to.contain('nothing was removed')
    expect(await snapshot(db)).to.deep.equal(before)
  })

  it('an empty registry, or too large a missing share, refuses with exit 3; nothing removed', async () => {
    const before = await snapshot(db)
    const empty = await startRegistry()
    try {
      const r = await runCli(['references', 'delete', '--apply', '--force'], {env: {...env, REGISTRY_URL: empty.url}})
      expect(r.code, r.stderr).to.equal(3)
      expect(r.stderr).to.match(/lists no repository dominodatalab\/environment while MongoDB has \d+ references/)
    } finally {
      await empty.stop()
    }

    // 6 of 14 environment references are missing (43%).
    const share = await runCli(['references', 'delete', '--apply', '--force', '--max-missing-percent', '40'], {env})
    expect(share.code, share.stderr).to.equal(3)
    expect(share.stderr).to.match(/6 of 14 references to dominodatalab\/environment \(43%\)/)
    expect(await snapshot(db)).to.deep.equal(before)
  })

  it('right before the removal, a record whose image is back in the registry stays (library)', async () => {
    const {MongoClient} = await import('mongodb')
    const {config} = await loadConfig({env: {...env, CONFIG_FILE: ''}})
    const client = await MongoClient.connect(services().mongo.uri)
    try {
      const opts = {allowMissingRepositories: [], maxMissingPercent: 50, now: new Date()}
      const {docs, removals} = await planMissing(client.db(db), config, opts)
      expect(keys(removals)).to.deep.equal([...expectedRemoved].sort())
      await pushImages(testClient(registry!.url), [
        {layers: [{seed: 'back-again', size: 256}], repository: ENV_REPO, tags: [tagOf('a3')]},
      ])
      const stay = await recheckMissing(config, docs, removals)
      expect([...stay.keys()]).to.deep.equal([`environment_revisions/${rev.a3}`])
      expect(stay.get(`environment_revisions/${rev.a3}`)).to.match(/in the registry again/)
    } finally {
      await client.close()
    }
  })
})
