import {expect} from 'chai'
import {randomUUID} from 'node:crypto'
import {readdirSync} from 'node:fs'

import type {DeletionResult} from '../../../packages/core/src/lifecycle/index.js'

import {keycloakService} from '../../../test/support/harness.js'
import {seedKeycloak} from '../../../test/support/keycloak.js'
import {linkedPluginsEnv} from '../../../test/support/plugin-cli.js'
import {runCli} from '../../archived/test/helpers.js'
import {buildWorld, presentTags, type Running, startWorld, type World} from './world.js'

const DAY = 86_400_000

/**
 * With --unused-since-days 30. A: public, unused (unused strategy). K: ran 2 days ago (in use). Private
 * environments of deactivated user U: D unused and not archived (both strategies name it), Z archived and unused
 * (only the deactivated strategy: archived environments are not the unused strategy's), E ran 2 days ago (kept).
 */
async function allWorld(user: string): Promise<World> {
  return buildWorld(
    {A: {revisions: 2}, D: {revisions: 2}, E: {revisions: 1}, K: {revisions: 1}, Z: {archived: true, revisions: 2}},
    (w, oid, now) => {
      const {envs: e} = w
      const c = w.collections
      for (const n of ['D', 'E', 'Z']) {
        const doc = c.environments_v2.find((d) => String(d._id) === e[n].id)!
        Object.assign(doc, {ownerId: oid(user), visibility: 'Private'})
      }

      const project = e.K.id.slice(0, 8) + 'aaaaaaaaaaaaaaaa'
      c.projects.push({_id: oid(project), isArchived: false, name: 'p'})
      const run = (rev: string, tail: string) => ({
        _id: oid(rev.slice(0, 8) + tail),
        completed: new Date(now - 2 * DAY),
        environmentRevisionId: oid(rev),
        projectId: oid(project),
        started: new Date(now - 2 * DAY),
        status: 'Succeeded',
      })
      c.runs.push(run(e.K.revs[1], 'bbbbbbbbbbbbbbbb'), run(e.E.revs[1], 'cccccccccccccccc'))
    },
  )
}

describe('@drc/plugin-unused: drc unused all, both strategies in one lifecycle (Keycloak, registry, FerretDB)', function () {
  this.timeout(300_000)
  const user = `${Math.floor(Date.now() / 1000 - 90 * 86_400).toString(16)}0000000000000001`.slice(0, 24)
  let world: World
  let bothEnv: Record<string, string>
  let running: Running | undefined
  const tags = (names: string[]) => names.flatMap((n) => world.envs[n].tags.slice(1)).sort()

  before(async () => {
    const kc = await keycloakService()
    const realm = `DrcUnusedAll${randomUUID().slice(0, 6)}`
    await seedKeycloak(kc, [{dominoUserId: user, enabled: false, username: 'gone-user'}], realm)
    bothEnv = {
      ...linkedPluginsEnv('unused', 'deactivated'),
      KEYCLOAK_PASSWORD: kc.adminPassword,
      KEYCLOAK_REALM: realm,
      KEYCLOAK_URL: kc.url,
      KEYCLOAK_USERNAME: kc.adminUser,
    }
    world = await allWorld(user)
  })

  afterEach(async () => {
    await running?.registry.stop()
    running = undefined
  })

  it('dry run: one plan with both strategies’ environments, an image named by both planned once', async () => {
    running = await startWorld(world, bothEnv, 'unused_all_dry')
    const before = await presentTags(running.registry)
    const r = await runCli(['unused', 'all', '--unused-since-days', '30', '--json'], {env: running.env})
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    const out = r.json() as DeletionResult
    expect(out.planned.flatMap((i) => i.tags).sort()).to.deep.equal(tags(['A', 'D', 'Z']))
    const d = out.planned.find((i) => i.tags.includes(world.envs.D.tags[1]))!.evidence.join(' ')
    expect(d).to.contain(`environment ${world.envs.D.id} "D" unused`).and.to.contain('of deactivated user')
    const z = out.planned.find((i) => i.tags.includes(world.envs.Z.tags[1]))!.evidence.join(' ')
    expect(z).to.contain('of deactivated user').and.not.to.contain('"Z" unused:')
    expect(await presentTags(running.registry)).to.deep.equal(before)
    // The predecessor's name plans the same.
    const alias = await runCli(['delete_all_unused_environments', '--unused-since-days', '30', '--json'], {
      env: running.env,
    })
    expect(alias.code, alias.stderr).to.equal(0)
    expect((alias.json() as DeletionResult).planned.flatMap((i) => i.tags).sort()).to.deep.equal(tags(['A', 'D', 'Z']))
  })

  it('--apply --archive deletes exactly those images in one run (one audit report); everything else stays', async () => {
    running = await startWorld(world, bothEnv, 'unused_all_apply')
    const r = await runCli(
      ['unused', 'all', '--unused-since-days', '30', '--apply', '--force', '--archive', '--json'],
      {
        env: running.env,
      },
    )
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    const out = r.json() as DeletionResult
    expect(out.deleted.flatMap((o) => o.tags).sort()).to.deep.equal(tags(['A', 'D', 'Z']))
    // Archived once each (D is named by both strategies); Z already is.
    const archived = out.mongo_updates!.updated.map((u) => u.id)
    expect(archived.sort()).to.deep.equal([world.envs.A.id, world.envs.D.id].sort())
    expect(out.mongo_updates!.kept).to.deep.equal([])
    expect(await presentTags(running.registry)).to.deep.equal(tags(['E', 'K']))
    const audits = readdirSync(running.env.OUTPUT_DIR, {recursive: true})
      .map(String)
      .filter((f) => /unused-all-audit-\d/.test(f))
    expect(audits).to.have.length(1)
  })

  it('refuses (exit 2, nothing planned) without the deactivated plugin and names the install command', async () => {
    running = await startWorld(world, linkedPluginsEnv('unused'), 'unused_all_missing')
    const r = await runCli(['unused', 'all', '--unused-since-days', '30'], {env: running.env})
    expect(r.code, r.stderr).to.equal(2)
    expect(r.stderr).to.contain('drc plugins install @drc/plugin-deactivated')
    expect(r.stderr).to.contain('drc unused delete')
  })
})
