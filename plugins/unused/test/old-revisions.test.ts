import {expect} from 'chai'
import {writeFileSync} from 'node:fs'
import path from 'node:path'

import type {DeletionResult} from '../../../packages/core/src/lifecycle/index.js'

import {linkedPluginsEnv} from '../../../test/support/plugin-cli.js'
import {runCli} from '../../archived/test/helpers.js'
import {buildWorld, mongoIds, presentTags, type Running, startWorld, type World} from './world.js'

const DAY = 86_400_000

/**
 * Environments of 6–8 built revisions, kept 5 each (issue 12 traps). E: numbers out of ObjectId order (creation
 * order 4,1,7,2,8,3,6,5); of its 3 oldest by number, 1 is pinned by a project (SomeRevision), 2 ran 90 days ago,
 * 3 goes. F: its active revision is 1 (a rollback), 2 is the clone source of kept 7, 3 goes. H: 1 shares its
 * digest with kept 6, 2 was built 2 days ago (grace period), 3 goes. B: 7 revisions, 7 failed to build (no image,
 * does not count), so only 1 goes. N: no number field, the tag suffix orders it (creation order 3,1,2,4,5,6,7):
 * 1 and 2 go. L: 3 revisions, nothing goes.
 */
async function oldRevisionsWorld(): Promise<World> {
  return buildWorld(
    {
      B: {failed: [7], revisions: 7},
      E: {active: 5, numbers: [4, 1, 7, 2, 8, 3, 6, 5], revisions: 8},
      F: {active: 1, revisions: 8},
      H: {ages: [undefined, 2], revisions: 8},
      L: {revisions: 3},
      N: {numbers: [3, 1, 2, 4, 5, 6, 7], revisions: 7},
    },
    (w, oid, now) => {
      const {envs: e} = w
      const c = w.collections
      const rev = (id: string) => c.environment_revisions.find((r) => String(r._id) === id)!
      const project = e.E.id.slice(0, 8) + 'aaaaaaaaaaaaaaaa'
      // E number 1 is creation index 2, number 2 is index 4.
      c.projects.push({
        _id: oid(project),
        defaultEnvironmentRevisionSpec: `SomeRevision(${e.E.revs[2]})`,
        isArchived: false,
        name: 'pinned',
        overrideV2EnvironmentId: oid(e.E.id),
      })
      const ran = new Date(now - 90 * DAY)
      c.runs.push({
        _id: oid(e.E.id.slice(0, 8) + 'bbbbbbbbbbbbbbbb'),
        completed: ran,
        environmentRevisionId: oid(e.E.revs[4]),
        projectId: oid(project),
        started: ran,
        status: 'Succeeded',
      })
      rev(e.F.revs[7]).clonedEnvironmentRevisionId = oid(e.F.revs[2])
      for (const id of e.N.revs.slice(1)) delete (rev(id).metadata as Record<string, unknown>).number
    },
    {shareDigest: [['H:6', 'H:1']]},
  )
}

describe('@drc/plugin-unused: drc unused old-revisions (real registry, FerretDB)', function () {
  this.timeout(240_000)
  let world: World
  let pluginEnv: Record<string, string>
  let running: Running | undefined
  // The tag of revision number n (tags are `<environmentId>-<number>`).
  const tag = (name: string, n: number) => `${world.envs[name].id}-${n}`
  const allTags = () => Object.values(world.envs).flatMap((e) => e.tags.slice(1))
  const expectedGone = () => [tag('B', 1), tag('E', 3), tag('F', 3), tag('H', 3), tag('N', 1), tag('N', 2)].sort()
  const run = (args: string[]) => runCli(args, {env: running!.env})

  before(async () => {
    pluginEnv = linkedPluginsEnv('unused')
    world = await oldRevisionsWorld()
  })

  afterEach(async () => {
    await running?.registry.stop()
    running = undefined
  })

  it('dry run plans exactly the old unused revisions; every kept candidate names its reason', async () => {
    running = await startWorld(world, pluginEnv, 'oldrev_dry')
    const before = await presentTags(running.registry)
    expect(before).to.deep.equal(
      allTags()
        .filter((t) => t !== tag('B', 7))
        .sort(),
    )
    const r = await run(['unused', 'old-revisions', '--json'])
    expect(r.code, r.stderr).to.equal(0)
    const out = r.json() as DeletionResult
    expect(out.planned.flatMap((i) => i.tags).sort()).to.deep.equal(expectedGone())
    const evidence = out.planned.find((i) => i.tags.includes(tag('E', 3)))!.evidence.join(' ')
    expect(evidence).to.contain(`revision ${world.envs.E.revs[6]} (number 3) of environment ${world.envs.E.id} "E"`)
    expect(evidence).to.contain('newest 5 built revisions by revision number (number 8, number 7, number 6')
    const inUse = (t: string) => out.in_use.find((i) => i.tags.includes(t))?.inUseAtPlan
    expect(inUse(tag('E', 1))).to.match(/1 project using as default/)
    expect(inUse(tag('E', 2))).to.match(/1 execution in MongoDB$/)
    expect(inUse(tag('F', 1))).to.match(/active revision of its environment/)
    expect(inUse(tag('H', 2))).to.match(/within the 7-day grace period/)
    const kept = (t: string) => out.skipped.find((s) => 'tag' in s && s.tag === t)?.reason
    expect(kept(tag('F', 2))).to.equal(
      `build chain: kept revision ${world.envs.F.revs[7]} (tag ${tag('F', 7)}) was cloned from revision ${world.envs.F.revs[2]}`,
    )
    expect(kept(tag('H', 1))).to.equal(`digest shared with tag(s) outside the deletion set: ${tag('H', 6)}`)
    // Nothing else was a candidate: the newest 5 are not even proposed.
    const keptTags = [tag('E', 1), tag('E', 2), tag('F', 1), tag('F', 2), tag('H', 1), tag('H', 2)].sort()
    expect(out.skipped.map((s) => ('tag' in s ? s.tag : '')).sort()).to.deep.equal(keptTags)
    expect(await presentTags(running.registry)).to.deep.equal(before)
  })

  it('--apply --mongo-cleanup deletes exactly those images and revision records; everything else stays', async () => {
    running = await startWorld(world, pluginEnv, 'oldrev_apply')
    const before = await presentTags(running.registry)
    const revsBefore = await mongoIds(running.db, 'environment_revisions')
    const envsBefore = await mongoIds(running.db, 'environments_v2')
    const r = await run(['unused', 'old-revisions', '--keep', '5', '--apply', '--force', '--mongo-cleanup', '--json'])
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    const out = r.json() as DeletionResult
    expect(out.deleted.flatMap((o) => o.tags).sort()).to.deep.equal(expectedGone())
    const gone = new Set(expectedGone())
    expect(await presentTags(running.registry)).to.deep.equal(before.filter((t) => !gone.has(t)))
    const e = world.envs
    const removed = new Set([e.B.revs[1], e.E.revs[6], e.F.revs[3], e.H.revs[3], e.N.revs[2], e.N.revs[3]])
    expect(await mongoIds(running.db, 'environment_revisions')).to.deep.equal(
      revsBefore.filter((id) => !removed.has(id)),
    )
    expect(await mongoIds(running.db, 'environments_v2')).to.deep.equal(envsBefore)
  })

  it('the predecessor alias takes --keep-revisions and --input; --keep 0 and --unused-since-days are usage errors', async () => {
    running = await startWorld(world, pluginEnv, 'oldrev_alias')
    const input = path.join(running.env.OUTPUT_DIR, 'envs.txt')
    writeFileSync(input, `# only E and L\n${world.envs.E.id}\nenvironment:${world.envs.L.id}\n`)
    const r = await run([
      'delete_old_revisions',
      '--keep-revisions',
      '2',
      '--input',
      input,
      '--registry-url',
      running.env.REGISTRY_URL,
      '--repository',
      'dominodatalab',
      '--enable-docker-deletion',
      '--generate-reports',
      '--json',
    ])
    expect(r.code, r.stderr).to.equal(0)
    // E keeps numbers 8 and 7; 1 (pinned) and 2 (run) stay in use; L keeps 3 and 2.
    const planned = (r.json() as DeletionResult).planned.flatMap((i) => i.tags).sort()
    expect(planned).to.deep.equal([tag('E', 3), tag('E', 4), tag('E', 5), tag('E', 6), tag('L', 1)].sort())
    for (const args of [
      ['unused', 'old-revisions', '--keep', '0'],
      ['delete_old_revisions', '--keep-revisions', '0'],
      ['unused', 'old-revisions', '--unused-since-days', '30'],
    ]) {
      // eslint-disable-next-line no-await-in-loop -- three quick refusals
      const refused = await run(args)
      expect(refused.code, `${args.join(' ')}: ${refused.stderr}`).to.equal(2)
    }
  })
})
