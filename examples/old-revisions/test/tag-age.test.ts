import {expect} from 'chai'
import path from 'node:path'

import type {DeletionResult} from '../../../packages/core/src/lifecycle/index.js'
import type {TagAgeListResult} from '../src/commands/tag-age/list.js'

import {runCli} from '../../../plugins/archived/test/helpers.js'
import {buildWorld, presentTags, type Running, startWorld, type World} from '../../../plugins/unused/test/world.js'
import {isolatedOclifEnv, REPO_ROOT, runCli as runCliSync} from '../../../test/support/cli.js'

const DAY = 86_400_000

/** A and R are 60 days old, Y 10 days; R-1 ran 90 days ago (in use: no date filter unless asked). */
async function tagAgeWorld(): Promise<World> {
  return buildWorld({A: {revisions: 2}, R: {revisions: 2}, Y: {ageDays: 10, revisions: 2}}, (w, oid, now) => {
    const ran = new Date(now - 90 * DAY)
    w.collections.runs.push({
      _id: oid(w.envs.R.revs[1].slice(0, 8) + 'bbbbbbbbbbbbbbbb'),
      completed: ran,
      environmentRevisionId: oid(w.envs.R.revs[1]),
      projectId: oid(w.envs.R.id.slice(0, 8) + 'aaaaaaaaaaaaaaaa'),
      started: ran,
      status: 'Succeeded',
    })
  })
}

describe('example third-party plugin: drc tag-age (linked, real registry, FerretDB)', function () {
  this.timeout(240_000)
  let world: World
  let pluginEnv: Record<string, string>
  let running: Running | undefined
  const tag = (name: string, n: number) => world.envs[name].tags[n]
  const args = ['--pattern', '*-1', '--older-than-days', '30', '--json']
  const run = (a: string[]) => runCli(a, {env: running!.env})

  before(async () => {
    pluginEnv = isolatedOclifEnv()
    const link = runCliSync(['plugins', 'link', path.join(REPO_ROOT, 'examples/old-revisions'), '--no-install'], {
      env: pluginEnv,
    })
    expect(link.code, link.stderr).to.equal(0)
    world = await tagAgeWorld()
  })

  afterEach(async () => {
    await running?.registry.stop()
    running = undefined
  })

  it('lists and plans the matching old tags; the core keeps the one a run uses; dry run changes nothing', async () => {
    running = await startWorld(world, pluginEnv, 'tagage_dry')
    const listed = await run(['tag-age', 'list', ...args])
    expect(listed.code, listed.stderr).to.equal(0)
    expect((listed.json() as TagAgeListResult).tags.map((t) => t.tag)).to.deep.equal([tag('A', 1), tag('R', 1)].sort())
    const before = await presentTags(running.registry)
    const r = await run(['tag-age', 'delete', ...args])
    expect(r.code, r.stderr).to.equal(0)
    const out = r.json() as DeletionResult
    expect(out.planned.flatMap((i) => i.tags)).to.deep.equal([tag('A', 1)])
    expect(out.planned[0].evidence.join(' ')).to.match(/tag matches "\*-1", revision created .* \(older than 30 days\)/)
    expect(out.in_use.map((i) => [i.tags, i.inUseAtPlan])).to.deep.equal([
      [[tag('R', 1)], `${tag('R', 1)}: 1 execution in MongoDB`],
    ])
    expect(await presentTags(running.registry)).to.deep.equal(before)
    const missing = await run(['tag-age', 'delete', '--json'])
    expect(missing.code).to.equal(2)
  })

  it('--apply deletes exactly the unused matching old tag (the full lifecycle from outside the core)', async () => {
    running = await startWorld(world, pluginEnv, 'tagage_apply')
    const before = await presentTags(running.registry)
    const r = await run(['tag-age', 'delete', ...args, '--apply', '--force'])
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    const out = r.json() as DeletionResult
    expect(out.deleted.flatMap((o) => o.tags)).to.deep.equal([tag('A', 1)])
    expect(out.report_path, 'the audit report').to.be.a('string')
    expect(await presentTags(running.registry)).to.deep.equal(before.filter((t) => t !== tag('A', 1)))
  })
})
