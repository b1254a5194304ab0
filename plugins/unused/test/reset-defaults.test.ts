import {expect} from 'chai'
import {writeFileSync} from 'node:fs'
import path from 'node:path'

import type {MongoChangeResult} from '../../../packages/core/src/lifecycle/mongo-change-command.js'

import {linkedPluginsEnv} from '../../../test/support/plugin-cli.js'
import {runCli} from '../../archived/test/helpers.js'
import {snapshotAll, startMongoWorld, withDb} from './mongo-world.js'
import {buildWorld, type World} from './world.js'

const planned = (r: {json: () => unknown}) =>
  (r.json() as MongoChangeResult).planned_updates!.map((u) => `${u.collection}/${u.id}/${u.unset.join(',')}`).sort()

/** Ids of the default-holding documents, by name. */
const DOCS = {
  o1: 'aaaaaaaaaaaaaaaaaaaa0001',
  o2: 'aaaaaaaaaaaaaaaaaaaa0002',
  p1: 'bbbbbbbbbbbbbbbbbbbb0001',
  p2: 'bbbbbbbbbbbbbbbbbbbb0002',
  u1: 'cccccccccccccccccccc0001',
  u2: 'cccccccccccccccccccc0002',
  u3: 'cccccccccccccccccccc0003',
  user1: 'dddddddddddddddddddd0001',
}

/**
 * X1 and X2 are archived, A is not. Defaults naming X1/X2: user preferences u1, u3, organization o1, project p1.
 * Defaults naming A: u2, o2, p2.
 */
async function defaultsWorld(): Promise<World> {
  return buildWorld(
    {A: {revisions: 1}, X1: {archived: true, revisions: 1}, X2: {archived: true, revisions: 1}},
    (w, oid) => {
      const {envs: e} = w
      const c = w.collections
      c.users.push({_id: oid(DOCS.user1), fullName: 'Jane Doe', loginId: {id: 'jdoe'}})
      const pref = (id: string, env: string) => ({
        _id: oid(id),
        defaultEnvironmentId: oid(env),
        userId: oid(DOCS.user1),
      })
      c.userPreferences.push(pref(DOCS.u1, e.X1.id), pref(DOCS.u2, e.A.id), {
        ...pref(DOCS.u3, e.X2.id),
        theme: 'dark',
        updatedAt: new Date('2025-01-02T03:04:05.678Z'),
      })
      c.organizations.push(
        {_id: oid(DOCS.o1), defaultV2EnvironmentId: oid(e.X1.id), name: 'o1'},
        {_id: oid(DOCS.o2), defaultV2EnvironmentId: oid(e.A.id), name: 'o2'},
      )
      c.projects.push(
        {_id: oid(DOCS.p1), isArchived: false, name: 'p1', overrideV2EnvironmentId: oid(e.X2.id)},
        {_id: oid(DOCS.p2), isArchived: false, name: 'p2', overrideV2EnvironmentId: oid(e.A.id)},
      )
    },
  )
}

describe('@drc/plugin-unused: drc unused reset-defaults, MongoDB only, with --undo (FerretDB)', function () {
  this.timeout(240_000)
  let world: World
  let pluginEnv: Record<string, string>
  const key = {
    o1: `organizations/${DOCS.o1}/defaultV2EnvironmentId`,
    o2: `organizations/${DOCS.o2}/defaultV2EnvironmentId`,
    p1: `projects/${DOCS.p1}/overrideV2EnvironmentId`,
    p2: `projects/${DOCS.p2}/overrideV2EnvironmentId`,
    u1: `userPreferences/${DOCS.u1}/defaultEnvironmentId`,
    u2: `userPreferences/${DOCS.u2}/defaultEnvironmentId`,
    u3: `userPreferences/${DOCS.u3}/defaultEnvironmentId`,
  }

  before(async () => {
    pluginEnv = linkedPluginsEnv('unused')
    world = await defaultsWorld()
  })

  it('dry run: the defaults naming archived environments, per scope, or those of --input; nothing changes', async () => {
    const {db, env} = await startMongoWorld(world, pluginEnv, 'unused_reset_dry')
    const before = await snapshotAll(db)
    const all = await runCli(['unused', 'reset-defaults', '--json'], {env})
    expect(all.code, all.stderr).to.equal(0)
    expect(planned(all)).to.deep.equal([key.o1, key.p1, key.u1, key.u3].sort())
    const users = await runCli(['unused', 'reset-defaults', '--user', '--json'], {env})
    expect(planned(users)).to.deep.equal([key.u1, key.u3].sort())
    const orgProject = await runCli(['unused', 'reset-defaults', '--organization', '--project', '--json'], {env})
    expect(planned(orgProject)).to.deep.equal([key.o1, key.p1].sort())
    const file = path.join(env.OUTPUT_DIR, 'ids.txt')
    writeFileSync(file, `# one environment\nenv:${world.envs.A.id}\nmodel:${DOCS.user1}\n`)
    const input = await runCli(['unused', 'reset-defaults', '--input', file, '--json'], {env})
    expect(input.code, input.stderr).to.equal(0)
    expect(planned(input)).to.deep.equal([key.o2, key.p2, key.u2].sort())
    expect((input.json() as MongoChangeResult).warnings.join(' ')).to.contain('1 model id(s) skipped')
    const human = await runCli(['unused', 'reset-defaults', '--user'], {env})
    expect(human.stderr).to.contain('Jane Doe (jdoe)')
    expect(await snapshotAll(db)).to.deep.equal(before)
  })

  it('--apply unsets exactly those fields; --undo puts MongoDB back to the documents it had', async () => {
    const {db, env} = await startMongoWorld(world, pluginEnv, 'unused_reset_apply')
    const before = await snapshotAll(db)
    const r = await runCli(['unused', 'reset-defaults', '--apply', '--force', '--json'], {env})
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    const out = r.json() as MongoChangeResult
    expect(out.mongo_updates!.updated.map((u) => u.id).sort()).to.deep.equal(
      [DOCS.o1, DOCS.p1, DOCS.u1, DOCS.u3].sort(),
    )
    const fields = await withDb(db, async (d) => ({
      o: await d
        .collection('organizations')
        .find({defaultV2EnvironmentId: {$exists: true}})
        .toArray(),
      p: await d
        .collection('projects')
        .find({overrideV2EnvironmentId: {$exists: true}})
        .toArray(),
      u: await d
        .collection('userPreferences')
        .find({defaultEnvironmentId: {$exists: true}})
        .toArray(),
    }))
    expect(fields.o.map((d) => String(d._id))).to.deep.equal([DOCS.o2])
    expect(fields.p.map((d) => String(d._id))).to.deep.equal([DOCS.p2])
    expect(fields.u.map((d) => String(d._id))).to.deep.equal([DOCS.u2])
    const after = await snapshotAll(db)
    expect(after.environments_v2).to.deep.equal(before.environments_v2)
    expect(after.users).to.deep.equal(before.users)

    const undo = await runCli(
      ['unused', 'reset-defaults', '--undo', out.report_path!, '--apply', '--force', '--json'],
      {
        env,
      },
    )
    expect(undo.code, undo.stderr + undo.stdout).to.equal(0)
    expect((undo.json() as MongoChangeResult).undo!.reverted).to.have.length(4)
    expect(await snapshotAll(db)).to.deep.equal(before)
  })

  it('--undo refuses a default set again since the run, restores the others (exit 4); the alias works', async () => {
    const {db, env} = await startMongoWorld(world, pluginEnv, 'unused_reset_undo')
    const r = await runCli(['reset_default_environments', '--user', '--apply', '--force', '--json'], {env})
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    const audit = (r.json() as MongoChangeResult).report_path!
    const {ObjectId} = await import('mongodb')
    const oid = (hex: string) => ObjectId.createFromHexString(hex)
    // The user chose a new default since: undoing would overwrite that choice.
    await withDb(db, (d) =>
      d
        .collection('userPreferences')
        .updateOne({_id: oid(DOCS.u1)}, {$set: {defaultEnvironmentId: oid(world.envs.A.id)}}),
    )
    const undo = await runCli(['unused', 'reset-defaults', '--undo', audit, '--apply', '--force', '--json'], {env})
    expect(undo.code, undo.stderr + undo.stdout).to.equal(4)
    const out = (undo.json() as MongoChangeResult).undo!
    expect(out.reverted.map((x) => x.id)).to.deep.equal([DOCS.u3])
    expect(out.refused.map((x) => x.id)).to.deep.equal([DOCS.u1])
    expect(out.refused[0].reason).to.match(/changed since this run/)
    const docs = await withDb(db, (d) => d.collection('userPreferences').find({}).sort({_id: 1}).toArray())
    expect(docs.map((d) => String(d.defaultEnvironmentId))).to.deep.equal([
      world.envs.A.id,
      world.envs.A.id,
      world.envs.X2.id,
    ])
    const help = await runCli(['unused', 'reset-defaults', '--help'], {env})
    expect(help.stdout).to.contain('reset_default_environments')
  })
})
