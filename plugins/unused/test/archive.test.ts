import {expect} from 'chai'
import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'

import type {MongoChangeResult} from '../../../packages/core/src/lifecycle/mongo-change-command.js'

import {linkedPluginsEnv} from '../../../test/support/plugin-cli.js'
import {runCli} from '../../archived/test/helpers.js'
import {snapshotAll, startMongoWorld, withDb, without} from './mongo-world.js'
import {buildWorld, type World} from './world.js'

const DAY = 86_400_000

const archivedIds = async (db: string) =>
  withDb(db, async (d) =>
    (await d.collection('environments_v2').find({isArchived: true}).toArray()).map((x) => String(x._id)).sort(),
  )

/**
 * Unused with --unused-since-days 30: A, Q (a 90-day-old run) and R. In use: K (a run 2 days ago), P (a user
 * preference default), G (built yesterday: grace period). X is already archived. A carries BSON types that a
 * lossy round trip would change (Date, Int32, Long, Double, nested document).
 */
async function archiveWorld(): Promise<World> {
  const {Double, Int32, Long} = await import('mongodb')
  return buildWorld(
    {
      A: {revisions: 2},
      G: {ageDays: 1, revisions: 1},
      K: {revisions: 1},
      P: {revisions: 1},
      Q: {revisions: 1},
      R: {revisions: 1},
      X: {archived: true, revisions: 1},
    },
    (w, oid, now) => {
      const {envs: e} = w
      const c = w.collections
      const a = c.environments_v2.find((d) => String(d._id) === e.A.id)!
      Object.assign(a, {
        description: {tags: ['x'], updatedAt: new Date(now - 5 * DAY)},
        revisionCount: new Int32(2),
        score: new Double(1),
        sizeBytes: Long.fromString('9007199254740993'),
      })
      const project = e.K.id.slice(0, 8) + 'aaaaaaaaaaaaaaaa'
      c.projects.push({_id: oid(project), isArchived: false, name: 'p'})
      const run = (rev: string, d: number, tail: string) => ({
        _id: oid(rev.slice(0, 8) + tail),
        completed: new Date(now - d * DAY),
        environmentRevisionId: oid(rev),
        projectId: oid(project),
        started: new Date(now - d * DAY),
        status: 'Succeeded',
      })
      c.runs.push(run(e.K.revs[1], 2, 'bbbbbbbbbbbbbbbb'), run(e.Q.revs[1], 90, 'cccccccccccccccc'))
      c.userPreferences.push({
        _id: oid(e.P.id.slice(0, 8) + 'dddddddddddddddd'),
        defaultEnvironmentId: oid(e.P.id),
        userId: oid(project),
      })
    },
  )
}

describe('@drc/plugin-unused: drc unused archive, MongoDB only, with --undo (FerretDB)', function () {
  this.timeout(240_000)
  let world: World
  let pluginEnv: Record<string, string>
  const ids = (names: string[]) => names.map((n) => world.envs[n].id).sort()

  before(async () => {
    pluginEnv = linkedPluginsEnv('unused')
    world = await archiveWorld()
  })

  it('dry run lists exactly the unused environments and changes nothing', async () => {
    const {db, env} = await startMongoWorld(world, pluginEnv, 'unused_archive_dry')
    const before = await snapshotAll(db)
    const r = await runCli(['unused', 'archive', '--unused-since-days', '30', '--json'], {env})
    expect(r.code, r.stderr).to.equal(0)
    const out = r.json() as MongoChangeResult
    expect(out.planned_updates!.map((u) => u.id).sort()).to.deep.equal(ids(['A', 'Q', 'R']))
    expect(out.planned_updates!.every((u) => u.collection === 'environments_v2')).to.equal(true)
    expect(out.planned_updates![0].set).to.deep.equal({isArchived: true})
    const kept = new Map(out.kept.map((k) => [k.id, k.reason]))
    expect(kept.get(world.envs.K.id)).to.match(/execution|run/)
    expect(kept.get(world.envs.P.id)).to.match(/user preference/)
    expect(kept.get(world.envs.G.id)).to.match(/grace period/)
    expect(kept.has(world.envs.X.id)).to.equal(false)
    expect(out.mongo_updates ?? null).to.equal(null)
    expect(await snapshotAll(db)).to.deep.equal(before)
    // Without the age limit, Q's old run keeps it.
    const all = await runCli(['unused', 'archive', '--json'], {env})
    expect((all.json() as MongoChangeResult).planned_updates!.map((u) => u.id).sort()).to.deep.equal(ids(['A', 'R']))
  })

  it('--apply archives exactly those; --undo puts MongoDB back to the documents it had', async () => {
    const {db, env} = await startMongoWorld(world, pluginEnv, 'unused_archive_apply')
    const before = await snapshotAll(db)
    const r = await runCli(['unused', 'archive', '--unused-since-days', '30', '--apply', '--force', '--json'], {env})
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    const out = r.json() as MongoChangeResult
    expect(out.mongo_updates!.updated.map((u) => u.id).sort()).to.deep.equal(ids(['A', 'Q', 'R']))
    expect(await archivedIds(db)).to.deep.equal(ids(['A', 'Q', 'R', 'X']))
    // Every other document is exactly as it was.
    expect(without(await snapshotAll(db), 'environments_v2', ids(['A', 'Q', 'R']))).to.deep.equal(
      without(before, 'environments_v2', ids(['A', 'Q', 'R'])),
    )
    const audit = out.report_path!
    expect(existsSync(audit)).to.equal(true)

    const check = await runCli(['unused', 'archive', '--undo', audit, '--json'], {env})
    expect(check.code, check.stderr).to.equal(0)
    const dry = check.json() as MongoChangeResult
    expect(dry.undo!.dry_run).to.equal(true)
    expect(dry.undo!.reverted.map((u) => u.id).sort()).to.deep.equal(ids(['A', 'Q', 'R']))
    expect(await archivedIds(db)).to.deep.equal(ids(['A', 'Q', 'R', 'X']))

    const undo = await runCli(['unused', 'archive', '--undo', audit, '--apply', '--force', '--json'], {env})
    expect(undo.code, undo.stderr + undo.stdout).to.equal(0)
    expect((undo.json() as MongoChangeResult).undo!.refused).to.deep.equal([])
    expect(await snapshotAll(db)).to.deep.equal(before)
  })

  it('--undo refuses a document changed since the run and puts the others back (exit 4)', async () => {
    const {db, env} = await startMongoWorld(world, pluginEnv, 'unused_archive_undo_refuse')
    const before = await snapshotAll(db)
    const r = await runCli(['unused', 'archive', '--unused-since-days', '30', '--apply', '--force', '--json'], {env})
    expect(r.code, r.stderr).to.equal(0)
    const audit = (r.json() as MongoChangeResult).report_path!
    const {ObjectId} = await import('mongodb')
    const oid = (n: string) => ObjectId.createFromHexString(world.envs[n].id)
    await withDb(db, async (d) => {
      // A renamed by someone since; Q un-archived by hand since.
      await d.collection('environments_v2').updateOne({_id: oid('A')}, {$set: {name: 'renamed'}})
      await d.collection('environments_v2').updateOne({_id: oid('Q')}, {$set: {isArchived: false}})
    })
    const changed = await snapshotAll(db)
    const undo = await runCli(['unused', 'archive', '--undo', audit, '--apply', '--force', '--json'], {env})
    expect(undo.code, undo.stderr + undo.stdout).to.equal(4)
    const out = undo.json() as MongoChangeResult
    expect(out.undo!.reverted.map((u) => u.id)).to.deep.equal(ids(['R']))
    const why = new Map(out.undo!.refused.map((x) => [x.id, x.reason]))
    expect(why.get(world.envs.A.id)).to.match(/changed since this run \(name\)/)
    expect(why.get(world.envs.Q.id)).to.match(/isArchived no longer hold/)
    const after = await snapshotAll(db)
    // R is back as it was; A and Q are left as they were found.
    const line = (s: Record<string, string[]>, n: string) =>
      s.environments_v2.find((l) => l.startsWith(`{"_id":{"$oid":"${world.envs[n].id}"}`))
    expect(line(after, 'R')).to.equal(line(before, 'R'))
    expect(line(after, 'A')).to.equal(line(changed, 'A'))
    expect(line(after, 'Q')).to.equal(line(changed, 'Q'))
  })

  it('the predecessor alias with --output; --undo refuses a report that changed nothing', async () => {
    const {env} = await startMongoWorld(world, pluginEnv, 'unused_archive_alias')
    const output = path.join(env.OUTPUT_DIR, 'archive-unused-environments.json')
    const r = await runCli(
      ['archive_unused_environments', '--unused-since-days', '30', '--generate-reports', '--output', output, '--json'],
      {env},
    )
    expect(r.code, r.stderr).to.equal(0)
    const copy = JSON.parse(readFileSync(output, 'utf8')) as {data: MongoChangeResult}
    expect(copy.data.planned_updates!.map((u) => u.id).sort()).to.deep.equal(ids(['A', 'Q', 'R']))
    const help = await runCli(['unused', 'archive', '--help'], {env})
    expect(help.stdout).to.contain('archive_unused_environments')
    const foreign = await runCli(['unused', 'archive', '--undo', output, '--json'], {env})
    expect(foreign.code).to.equal(2)
  })
})
