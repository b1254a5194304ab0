import {expect} from 'chai'
import {MongoClient} from 'mongodb'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {DeletionResult} from '../../../packages/core/src/lifecycle/index.js'
import type {UnusedListResult} from '../src/commands/unused/list.js'

import {services} from '../../../test/support/harness.js'
import {linkedPluginsEnv} from '../../../test/support/plugin-cli.js'
import {runCli} from '../../archived/test/helpers.js'
import {buildWorld, mongoIds, presentTags, type Running, startWorld, type World} from './world.js'

const DAY = 86_400_000
const SINCE = 30

/**
 * One environment per trap (issue 12). Unused with --unused-since-days 30: A (3 revisions), B (its only image
 * shares a digest with in-use K-1), C (C-1 is the clone source of K-2), Q (only a 90-day-old run). In use:
 * K (runs), J (scheduler job only), M (model version's base environment, non-active revision), P (user
 * preference default), W (stopped workspace, changed 100 days ago), S (project pin SomeRevision(S-1)),
 * T (a run without timestamps), O (old run, but a project default). X is archived (not this strategy's),
 * G was built yesterday (grace period).
 */
async function unusedWorld(): Promise<World> {
  return buildWorld(
    {
      A: {revisions: 3},
      B: {revisions: 1},
      C: {revisions: 2},
      G: {ageDays: 1, revisions: 2},
      J: {revisions: 2},
      K: {revisions: 2},
      M: {revisions: 2},
      O: {revisions: 2},
      P: {revisions: 2},
      Q: {revisions: 2},
      S: {revisions: 2},
      T: {revisions: 2},
      W: {revisions: 2},
      X: {archived: true, revisions: 2},
    },
    (w, oid, now) => {
      const {envs: e} = w
      const c = w.collections
      const ago = (d: number) => new Date(now - d * DAY)
      const project = (id: string) => ({_id: oid(id), isArchived: false, name: `p-${id.slice(-4)}`})
      const p1 = e.K.id.slice(0, 8) + 'aaaaaaaaaaaaaaaa'
      c.projects.push(project(p1))
      const run = (rev: string, d: null | number) => ({
        _id: oid(rev.slice(0, 8) + 'bbbbbbbbbbbbbbbb'),
        environmentRevisionId: oid(rev),
        projectId: oid(p1),
        status: 'Succeeded',
        ...(d === null ? {} : {completed: ago(d), started: ago(d)}),
      })
      c.runs.push(
        run(e.K.revs[1], 2),
        {...run(e.K.revs[2], 3), _id: oid(e.K.revs[2].slice(0, 8) + 'cccccccccccccccc')},
        run(e.Q.revs[1], 90),
        run(e.O.revs[1], 90),
        run(e.T.revs[1], null),
      )
      // K-2 was cloned from C-1: the core's build chain rule keeps C-1.
      const k2 = c.environment_revisions.find((r) => String(r._id) === e.K.revs[2])!
      k2.clonedEnvironmentRevisionId = oid(e.C.revs[1])
      c.scheduler_jobs.push({
        _id: oid(e.J.id.slice(0, 8) + 'dddddddddddddddd'),
        jobDataPlain: {overrideEnvironmentId: oid(e.J.id)},
        jobName: 'nightly',
        projectId: oid(p1),
      })
      const model = e.M.id.slice(0, 8) + 'eeeeeeeeeeeeeeee'
      c.models.push({_id: oid(model), isArchived: false, name: 'm'})
      c.model_versions.push({
        _id: oid(e.M.id.slice(0, 8) + 'ffffffffffffffff'),
        environmentRevisionId: oid(e.M.revs[1]),
        modelId: {value: oid(model)},
      })
      c.userPreferences.push({
        _id: oid(e.P.id.slice(0, 8) + 'aaaaaaaaaaaaaaab'),
        defaultEnvironmentId: oid(e.P.id),
        userId: oid(p1),
      })
      c.workspace.push({
        _id: oid(e.W.id.slice(0, 8) + 'aaaaaaaaaaaaaaac'),
        configTemplate: {environmentId: oid(e.W.id)},
        name: 'ws',
        projectId: oid(p1),
        state: 'Stopped',
        stateUpdatedAt: ago(100),
      })
      const pin = e.S.id.slice(0, 8) + 'aaaaaaaaaaaaaaad'
      c.projects.push({
        ...project(pin),
        defaultEnvironmentRevisionSpec: `SomeRevision(${e.S.revs[1]})`,
        overrideV2EnvironmentId: oid(e.S.id),
      })
      const oldDefault = e.O.id.slice(0, 8) + 'aaaaaaaaaaaaaaae'
      c.projects.push({
        ...project(oldDefault),
        defaultEnvironmentRevisionSpec: 'ActiveRevision',
        overrideV2EnvironmentId: oid(e.O.id),
      })
    },
    {shareDigest: [['K:1', 'B:1']]},
  )
}

/** A file in a fresh temporary directory. */
function file(name: string, text: string): string {
  const f = path.join(mkdtempSync(path.join(tmpdir(), 'drc-unused-input-')), name)
  writeFileSync(f, text)
  return f
}

/** Every environments_v2 document, whole, by id (BSON types as stored). */
async function environments(db: string): Promise<Map<string, unknown>> {
  const client = await MongoClient.connect(services().mongo.uri)
  try {
    const docs = await client.db(db).collection('environments_v2').find({}).toArray()
    return new Map(docs.map((d) => [String(d._id), d]))
  } finally {
    await client.close()
  }
}

/** One tag entry of the predecessor's unused-environments.json (domain-spec §4.6). */
const entry = (t: string) => ({env_name: 'x', image_type: 'environment', object_id: 'x', tag: t})

describe('@drc/plugin-unused: drc unused delete, whole environments (real registry, FerretDB)', function () {
  this.timeout(240_000)
  let world: World
  let pluginEnv: Record<string, string>
  let running: Running | undefined
  const tag = (name: string, n: number) => world.envs[name].tags[n]
  const allTags = () => Object.values(world.envs).flatMap((e) => e.tags.slice(1))
  // What goes with --unused-since-days 30: all of A, Q, and C-2 (C-1 is a clone source, B-1 shares K-1's digest).
  const expectedGone = () => [tag('A', 1), tag('A', 2), tag('A', 3), tag('C', 2), tag('Q', 1), tag('Q', 2)].sort()

  before(async () => {
    pluginEnv = linkedPluginsEnv('unused')
    world = await unusedWorld()
  })

  afterEach(async () => {
    await running?.registry.stop()
    running = undefined
  })

  it('lists whole unused environments (active revision included), archived and used ones not', async () => {
    running = await startWorld(world, pluginEnv, 'unused_list')
    const r = await runCli(['unused', 'list', '--unused-since-days', String(SINCE), '--json'], {env: running.env})
    expect(r.code, r.stderr).to.equal(0)
    const out = r.json() as UnusedListResult
    const ids = (names: string[]) => names.map((n) => world.envs[n].id).sort()
    expect(out.unused.map((u) => u.environmentId).sort()).to.deep.equal(ids(['A', 'B', 'C', 'Q']))
    expect(out.checked).to.equal(13)
    const a = out.unused.find((u) => u.environmentId === world.envs.A.id)!
    expect(a.tags.sort()).to.deep.equal([tag('A', 1), tag('A', 2), tag('A', 3)].sort())
    expect(a.evidence).to.match(/unused: no configuration or existing workspace uses any of its revisions/)
    const why = (n: string) => out.inUse.find((u) => u.environmentId === world.envs[n].id)?.reason
    expect(why('J')).to.match(/scheduler job/)
    expect(why('M')).to.match(/model/)
    expect(why('P')).to.match(/user preference/)
    expect(why('W')).to.match(/existing workspace .* \(stopped\)/)
    expect(why('S')).to.match(/project/)
    expect(why('T')).to.match(/execution/)
    expect(why('O')).to.match(/project/)
    expect(why('G')).to.match(/grace period/)
    // Without the age limit, Q's old run keeps it.
    const all = await runCli(['unused', 'list', '--json'], {env: running.env})
    expect((all.json() as UnusedListResult).unused.map((u) => u.environmentId).sort()).to.deep.equal(
      ids(['A', 'B', 'C']),
    )
  })

  it('dry run plans exactly the unused environments’ images and changes nothing', async () => {
    running = await startWorld(world, pluginEnv, 'unused_dry')
    const before = await presentTags(running.registry)
    expect(before).to.deep.equal(allTags().sort())
    const r = await runCli(['unused', 'delete', '--unused-since-days', String(SINCE), '--json'], {env: running.env})
    expect(r.code, r.stderr).to.equal(0)
    const out = r.json() as DeletionResult
    expect(out.planned.flatMap((i) => i.tags).sort()).to.deep.equal(expectedGone())
    const evidence = out.planned.find((i) => i.tags.includes(tag('A', 3)))!.evidence.join(' ')
    expect(evidence).to.contain(`environment ${world.envs.A.id} "A" unused`).and.to.contain('its active revision')
    const shared = out.skipped.find((s) => 'tag' in s && s.tag === tag('B', 1))
    expect(shared?.reason).to.equal(`digest shared with tag(s) outside the deletion set: ${tag('K', 1)}`)
    const kept = out.skipped.find((s) => 'tag' in s && s.tag === tag('C', 1))
    expect(kept?.reason).to.match(/^build chain: kept revision /)
    expect(await presentTags(running.registry)).to.deep.equal(before)
    const human = await runCli(['unused', 'delete', '--unused-since-days', String(SINCE)], {env: running.env})
    expect(human.stderr).to.match(/4 unused environments have their active revision's image among the candidates/)
    expect(human.stderr).to.contain('unless --mongo-cleanup')
  })

  it('--apply --mongo-cleanup deletes exactly those images and records; everything else stays', async () => {
    running = await startWorld(world, pluginEnv, 'unused_apply')
    const revsBefore = await mongoIds(running.db, 'environment_revisions')
    const envsBefore = await mongoIds(running.db, 'environments_v2')
    const r = await runCli(
      ['unused', 'delete', '--unused-since-days', String(SINCE), '--apply', '--force', '--mongo-cleanup', '--json'],
      {env: running.env},
    )
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    const out = r.json() as DeletionResult
    expect(out.deleted.flatMap((o) => o.tags).sort()).to.deep.equal(expectedGone())
    const gone = new Set(expectedGone())
    expect(await presentTags(running.registry)).to.deep.equal(
      allTags()
        .filter((t) => !gone.has(t))
        .sort(),
    )
    const e = world.envs
    const removedRevs = new Set([e.A.revs[1], e.A.revs[2], e.A.revs[3], e.C.revs[2], e.Q.revs[1], e.Q.revs[2]])
    expect(await mongoIds(running.db, 'environment_revisions')).to.deep.equal(
      revsBefore.filter((id) => !removedRevs.has(id)),
    )
    // C keeps its environment record: revision C-1 remains (the clean-up guard).
    const removedEnvs = new Set([e.A.id, e.Q.id])
    expect(await mongoIds(running.db, 'environments_v2')).to.deep.equal(envsBefore.filter((id) => !removedEnvs.has(id)))
  })

  it('without --unused-since-days the old run keeps Q; the predecessor alias and flags work', async () => {
    running = await startWorld(world, pluginEnv, 'unused_alias')
    const r = await runCli(
      [
        'delete_unused_environments',
        '--registry-url',
        running.env.REGISTRY_URL,
        '--repository',
        'dominodatalab',
        '--enable-docker-deletion',
        '--generate-reports',
        '--registry-statefulset',
        'docker-registry',
        '--json',
      ],
      {env: running.env},
    )
    expect(r.code, r.stderr).to.equal(0)
    const planned = (r.json() as DeletionResult).planned.flatMap((i) => i.tags).sort()
    expect(planned).to.deep.equal([tag('A', 1), tag('A', 2), tag('A', 3), tag('C', 2)].sort())
    // The predecessor's --run-registry-gc is accepted (the core runs GC after an --apply in the cluster).
    const gc = await runCli(['delete_unused_environments', '--run-registry-gc'], {env: running.env})
    expect(gc.code, gc.stderr).to.equal(0)
  })

  describe('--input narrows the fresh plan, never widens it', () => {
    const since = ['--unused-since-days', String(SINCE)]

    it('an ObjectId file naming A and in-use K plans only A; a predecessor report naming Q-1 and K-1 plans Q-1', async () => {
      running = await startWorld(world, pluginEnv, 'unused_input')
      const ids = file('ids.txt', `# replay\nenvironment:${world.envs.A.id}\nenvironment:${world.envs.K.id}\n`)
      const r = await runCli(['unused', 'delete', ...since, '--input', ids, '--json'], {env: running.env})
      expect(r.code, r.stderr).to.equal(0)
      const planned = (r.json() as DeletionResult).planned.flatMap((i) => i.tags).sort()
      expect(planned).to.deep.equal([tag('A', 1), tag('A', 2), tag('A', 3)].sort())
      const report = file(
        'unused-environments.json',
        JSON.stringify({grouped_by_object_id: {a: [entry(tag('Q', 1))], b: [entry(tag('K', 1))]}, summary: {}}),
      )
      const q = await runCli(['unused', 'delete', ...since, '--input', report, '--json'], {env: running.env})
      expect(q.code, q.stderr).to.equal(0)
      expect((q.json() as DeletionResult).planned.flatMap((i) => i.tags)).to.deep.equal([tag('Q', 1)])
    })

    it('a file that is neither an ObjectId file nor a report: exit 2, nothing changed', async () => {
      running = await startWorld(world, pluginEnv, 'unused_input_bad')
      const before = await presentTags(running.registry)
      const bad = file('bad.json', JSON.stringify([1, 2]))
      const r = await runCli(['unused', 'delete', ...since, '--input', bad, '--apply', '--force'], {env: running.env})
      expect(r.code).to.equal(2)
      expect(r.stderr).to.contain(`--input ${bad} is neither an ObjectId file nor a report`)
      expect(await presentTags(running.registry)).to.deep.equal(before)
    })

    it('--apply --input environment:<A> deletes exactly A’s images', async () => {
      running = await startWorld(world, pluginEnv, 'unused_input_apply')
      const ids = file('ids.txt', `environment:${world.envs.A.id}\n`)
      const r = await runCli(['unused', 'delete', ...since, '--input', ids, '--apply', '--force', '--json'], {
        env: running.env,
      })
      expect(r.code, r.stderr).to.equal(0)
      const gone = new Set([tag('A', 1), tag('A', 2), tag('A', 3)])
      expect((r.json() as DeletionResult).deleted.flatMap((o) => o.tags).sort()).to.deep.equal([...gone].sort())
      expect(await presentTags(running.registry)).to.deep.equal(
        allTags()
          .filter((t) => !gone.has(t))
          .sort(),
      )
    })
  })

  it('--apply --archive archives only the emptied environments; drc mongo restore puts them back equal', async () => {
    running = await startWorld(world, pluginEnv, 'unused_archive')
    const before = await environments(running.db)
    const since = ['--unused-since-days', String(SINCE)]
    const dry = await runCli(['unused', 'delete', ...since, '--archive', '--json'], {env: running.env})
    expect(dry.code, dry.stderr).to.equal(0)
    expect(await environments(running.db)).to.deep.equal(before)
    const r = await runCli(['unused', 'delete', ...since, '--archive', '--apply', '--force', '--json'], {
      env: running.env,
    })
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    const out = r.json() as DeletionResult
    const e = world.envs
    // A and Q lost every image; C keeps C-1 (clone source) and B its shared digest: they stay unarchived.
    expect(out.mongo_updates!.updated.map((u) => u.id).sort()).to.deep.equal([e.A.id, e.Q.id].sort())
    const left = new Map(out.mongo_updates!.kept.map((k) => [k.id, k.reason]))
    expect(left.get(e.C.id)).to.match(/was not deleted/)
    expect(left.get(e.B.id)).to.match(/was not deleted/)
    const after = await environments(running.db)
    for (const [id, doc] of before) {
      const archived = id === e.A.id || id === e.Q.id
      expect(after.get(id), id).to.deep.equal(archived ? {...(doc as object), isArchived: true} : doc)
    }

    const restore = await runCli(['mongo', 'restore', out.report_path!, '--json'], {
      env: running.env,
    })
    expect(restore.code, restore.stderr).to.equal(0)
    expect(await environments(running.db)).to.deep.equal(before)
  })
})
