import {expect} from 'chai'
import {randomUUID} from 'node:crypto'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {MongoChangeResult} from '../../../packages/core/src/lifecycle/mongo-change-command.js'
import type {RestoreResult} from '../../../packages/core/src/mongo/restore.js'

import {ENV_REPO, MODEL_REPO, oldId, resultOf, seedDocs, snapshot} from '../../../test/lifecycle/world.js'
import {services} from '../../../test/support/harness.js'
import {linkedPluginsEnv} from '../../../test/support/plugin-cli.js'
import {runCli} from '../../archived/test/helpers.js'

/** `drc mongo cleanup --file F --collection C` through bin/run.js against FerretDB: dry run, confirm, audit, undo. */
describe('@drc/plugin-references: drc mongo cleanup (FerretDB)', function () {
  this.timeout(200_000)
  const db = `plugin_mongo_cleanup_${randomUUID().slice(0, 8)}`
  const [envA, r1, r2, r3, v1, v2, missing] = Array.from({length: 7}, () => oldId())
  let dir: string
  let env: Record<string, string>
  const file = (name: string, text: string) => {
    const p = path.join(dir, name)
    writeFileSync(p, text)
    return p
  }

  before(async () => {
    const {ObjectId} = await import('mongodb')
    const oid = (hex: string) => ObjectId.createFromHexString(hex)
    const revision = (id: string, n: number) => ({
      _id: oid(id),
      environmentId: oid(envA),
      metadata: {dockerImageName: {repository: ENV_REPO, tag: `${envA}-${n}`}, isBuilt: true},
    })
    await seedDocs(db, {
      environment_revisions: [revision(r1, 1), revision(r2, 2), revision(r3, 3)],
      environments_v2: [{_id: oid(envA), activeRevisionId: oid(r2), isArchived: false, name: 'a'}],
      model_versions: [v1, v2].map((id) => ({
        _id: oid(id),
        metadata: {builds: [{slug: {image: {repository: MODEL_REPO, tag: `${id}-v1`}}}]},
        modelId: {value: oid(oldId())},
      })),
    })
    dir = mkdtempSync(path.join(tmpdir(), 'drc-mongo-cleanup-cmd-'))
    env = {...linkedPluginsEnv('references'), DRC_MONGO_URI: services().mongo.uri, MONGODB_DB: db, OUTPUT_DIR: dir}
  })

  const keys = (list: Array<{collection: string; id: string}>) => list.map((x) => `${x.collection}/${x.id}`).sort()
  const ids = () =>
    file('ids.txt', `# revisions to drop\n${r1}\nenvironmentRevision:${r3.toUpperCase()}\n${r2}\n${missing}\n`)

  it('dry run: plans exactly the listed documents that exist, keeps the active revision; changes nothing', async () => {
    const before = await snapshot(db)
    const r = await runCli(['mongo', 'cleanup', '--file', ids(), '--json'], {env})
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    const out = resultOf<MongoChangeResult>(r.stdout)
    expect(keys(out.planned)).to.deep.equal(keys([r1, r3].map((id) => ({collection: 'environment_revisions', id}))))
    const why = (id: string) => out.kept.find((k) => k.id === id)?.reason
    expect(why(r2)).to.match(/active revision of environment/)
    expect(why(missing)).to.match(/not in environment_revisions/)
    expect(await snapshot(db)).to.deep.equal(before)
  })

  it('--apply needs --force without a terminal (exit 2, nothing removed)', async () => {
    const before = await snapshot(db)
    const r = await runCli(['mongo', 'cleanup', '--file', ids(), '--apply'], {env})
    expect(r.code, r.stderr).to.equal(2)
    expect(r.stderr).to.match(/no terminal/)
    expect(await snapshot(db)).to.deep.equal(before)
  })

  it('--apply (predecessor alias) removes them saved whole; drc mongo restore puts them back equal', async () => {
    const before = await snapshot(db)
    const r = await runCli(['mongo_cleanup', '--file', ids(), '--apply', '--force', '--json'], {env})
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    const out = resultOf<MongoChangeResult>(r.stdout)
    expect(keys(out.mongo_cleanup!.removed)).to.deep.equal(
      keys([r1, r3].map((id) => ({collection: 'environment_revisions', id}))),
    )
    const after = await snapshot(db)
    expect(after.environment_revisions.length).to.equal(1)
    const restored = await runCli(['mongo', 'restore', out.report_path!, '--json'], {env})
    expect(restored.code, restored.stderr).to.equal(0)
    expect(resultOf<RestoreResult>(restored.stdout).restored.length).to.equal(2)
    expect(await snapshot(db)).to.deep.equal(before)
  })

  it('--collection model_versions removes only the listed version', async () => {
    const r = await runCli(
      ['mongo', 'cleanup', '--file', file('v.txt', `modelVersion:${v1}\n`), '--collection', 'model_versions'],
      {env: {...env}},
    )
    expect(r.code, r.stderr).to.equal(0)
    const applied = await runCli(
      ['mongo', 'cleanup', '--file', file('v.txt', `${v1}\n`), '--collection', 'model_versions', '--apply', '--force'],
      {env},
    )
    expect(applied.code, applied.stderr).to.equal(0)
    expect((await snapshot(db)).model_versions.map((d) => d.includes(v2))).to.deep.equal([true])
  })

  it('a bad line (or an id of another kind) refuses the whole file with exit 2, nothing removed', async () => {
    const before = await snapshot(db)
    for (const text of [`${r1}\nnot-an-id\n`, `${r1}\nmodelVersion:${v2}\n`]) {
      // eslint-disable-next-line no-await-in-loop
      const r = await runCli(['mongo', 'cleanup', '--file', file('bad.txt', text), '--apply', '--force'], {env})
      expect(r.code, r.stderr).to.equal(2)
      expect(r.stderr).to.match(/bad\.txt:2/)
    }

    expect(await snapshot(db)).to.deep.equal(before)
  })
})
