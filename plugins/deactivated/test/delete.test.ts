import {expect} from 'chai'
import {randomUUID} from 'node:crypto'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {DeletionResult} from '../../../packages/core/src/lifecycle/index.js'

import {pushImages} from '../../../test/fixtures/push-images.js'
import {ENV_REPO, oldId, resultOf, seedDocs, snapshot} from '../../../test/lifecycle/world.js'
import {testClient} from '../../../test/registry/helpers.js'
import {keycloakService, services} from '../../../test/support/harness.js'
import {seedKeycloak, type SeedUser} from '../../../test/support/keycloak.js'
import {linkedPluginsEnv} from '../../../test/support/plugin-cli.js'
import {type RegistryHandle, startRegistry} from '../../../test/support/registry.js'
import {runCli} from '../../archived/test/helpers.js'

const DAY = 86_400_000

/**
 * `drc deactivated delete` through bin/run.js against a real Keycloak (more disabled users than one admin API
 * page), FerretDB and a registry of its own: exactly the images of unused private environments of deactivated
 * users go, whole environments (active revision included), and every trap stays.
 */
describe('@drc/plugin-deactivated: drc deactivated delete (Keycloak + FerretDB + registry)', function () {
  this.timeout(400_000)
  const [u1, u2, u3, other] = [oldId(), oldId(), oldId(), oldId()]
  // e1: unused, old run only (beyond --unused-since-days); e9: archived, unused. Both go whole.
  // e2: ran 2 days ago; e3: another user's project default; e4: its digest also carries e5's tag (in use).
  // e6: owner is a disabled user without domino-user-id; e7: an enabled user's; e8: public. All stay.
  // ea: unused too, but its image is pushed only for the --archive test (until then: not in the registry).
  const env = Object.fromEntries(['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9', 'ea'].map((k) => [k, oldId()]))
  const rev = Object.fromEntries(
    ['e1a', 'e1b', 'e2', 'e3a', 'e3b', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9a', 'e9b', 'eaa'].map((k) => [k, oldId()]),
  )
  const tagOf = (k: string) => `${env[k.slice(0, 2)]}-${k.length > 2 ? k.codePointAt(2)! - 96 : 1}`
  const expectedGone = ['e1a', 'e1b', 'e9a', 'e9b'].map((k) => tagOf(k)).sort()
  const allTags = Object.keys(rev)
    .filter((k) => k !== 'eaa')
    .map((k) => tagOf(k))
  const db = `plugin_deactivated_delete_${randomUUID().slice(0, 8)}`
  const realm = `DrcDeactivatedDelete${randomUUID().slice(0, 6)}`
  let registry: RegistryHandle | undefined
  let runEnv: Record<string, string>

  before(async () => {
    const {ObjectId: Oid} = await import('mongodb')
    const oid = (hex: string) => Oid.createFromHexString(hex)
    const kc = await keycloakService()
    // 103 disabled fillers (no domino-user-id) sort before the real ones: the users that matter are on page 2.
    const fillers: SeedUser[] = Array.from({length: 103}, (_, i) => ({
      enabled: false,
      username: `a-filler-${String(i).padStart(3, '0')}`,
    }))
    await seedKeycloak(
      kc,
      [
        ...fillers,
        {dominoUserId: u1, enabled: false, username: 'z-disabled'},
        {enabled: false, username: 'z-disabled-no-attribute'},
        {dominoUserId: u2, enabled: true, username: 'z-enabled'},
      ],
      realm,
    )
    const environment = (k: string, owner: string, extra: Record<string, unknown> = {}) => ({
      _id: oid(env[k]),
      activeRevisionId: oid(rev[`${k}b`] ?? rev[`${k}a`] ?? rev[k]),
      isArchived: false,
      name: `env-${k}`,
      ownerId: oid(owner),
      visibility: 'Private',
      ...extra,
    })
    const revision = (k: string) => ({
      _id: oid(rev[k]),
      environmentId: oid(env[k.slice(0, 2)]),
      metadata: {dockerImageName: {repository: ENV_REPO, tag: tagOf(k)}, isBuilt: true},
    })
    const run = (k: string, daysAgo: number) => ({
      _id: new Oid(),
      completed: new Date(Date.now() - daysAgo * DAY),
      environmentId: oid(env[k.slice(0, 2)]),
      environmentRevisionId: oid(rev[k]),
      projectId: oid(oldId()),
      started: new Date(Date.now() - daysAgo * DAY - 60_000),
      status: 'Succeeded',
      volumeSpecification: {_t: 'RunEphemeralVolumeSpecification'},
    })
    await seedDocs(db, {
      environment_revisions: Object.keys(rev).map((k) => revision(k)),
      environments_v2: [
        environment('e1', u1),
        environment('e2', u1),
        environment('e3', u1),
        environment('e4', u1),
        environment('e5', other, {visibility: 'Public'}),
        environment('e6', u3),
        environment('e7', u2),
        environment('e8', u1, {visibility: 'Public'}),
        environment('e9', u1, {isArchived: true}),
        environment('ea', u1),
      ],
      projects: [
        {
          _id: oid(oldId()),
          defaultEnvironmentRevisionSpec: 'ActiveRevision',
          isArchived: false,
          name: 'others-project',
          overrideV2EnvironmentId: oid(env.e3),
          ownerId: oid(other),
        },
      ],
      runs: [run('e1a', 200), run('e2', 2)],
      scheduler_jobs: [{_id: oid(oldId()), jobDataPlain: {overrideEnvironmentId: oid(env.e5)}, jobName: 'nightly'}],
    })
    registry = await startRegistry()
    const client = testClient(registry.url)
    for (const k of Object.keys(rev)) {
      if (k === 'e5' || k === 'eaa') continue
      // e4's image also carries e5's tag: one digest, one tag in use.
      const tags = k === 'e4' ? [tagOf('e4'), tagOf('e5')] : [tagOf(k)]
      // eslint-disable-next-line no-await-in-loop
      await pushImages(client, [{layers: [{seed: `dd-${k}`, size: 512}], repository: ENV_REPO, tags}])
    }

    const outputDir = mkdtempSync(path.join(tmpdir(), 'drc-deactivated-delete-'))
    runEnv = {
      ...linkedPluginsEnv('deactivated'),
      DRC_MONGO_URI: services().mongo.uri,
      DRC_REGISTRY_IN_CLUSTER: 'false',
      KEYCLOAK_PASSWORD: kc.adminPassword,
      KEYCLOAK_REALM: realm,
      KEYCLOAK_URL: kc.url,
      KEYCLOAK_USERNAME: kc.adminUser,
      MONGODB_DB: db,
      OUTPUT_DIR: outputDir,
      REGISTRY_URL: registry.url,
      REPOSITORY: 'dominodatalab',
    }
  })

  after(async () => {
    await registry?.stop()
  })

  const remainingTags = async () => (await testClient(registry!.url).listTags(ENV_REPO)).sort()

  it('dry run (predecessor alias): plans exactly the whole unused environments, changes nothing', async () => {
    const r = await runCli(['delete_unused_private_environments', '--unused-since-days', '30', '--json'], {
      env: runEnv,
    })
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    const out = resultOf<DeletionResult>(r.stdout)
    expect(out.planned.flatMap((i) => i.tags).sort()).to.deep.equal(expectedGone)
    // Two tags on one digest, one outside the plan: the digest is kept and the plan says why.
    const shared = out.skipped.find((s) => 'tag' in s && s.tag === tagOf('e4'))
    expect(shared?.reason, JSON.stringify(out.skipped)).to.match(/other|outside|not a candidate/i)
    expect(await remainingTags()).to.deep.equal([...allTags].sort())
  })

  it('--apply --mongo-cleanup: those images go (active revisions included), everything else stays', async () => {
    const before = await snapshot(db)
    const r = await runCli(
      ['deactivated', 'delete', '--unused-since-days', '30', '--apply', '--force', '--mongo-cleanup', '--json'],
      {env: runEnv},
    )
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    const out = resultOf<DeletionResult>(r.stdout)
    expect(out.deleted.flatMap((d) => d.tags).sort()).to.deep.equal(expectedGone)
    expect(await remainingTags()).to.deep.equal(allTags.filter((t) => !expectedGone.includes(t)).sort())
    const removed = out.mongo_cleanup!.removed.map((d) => d.id).sort()
    expect(removed).to.deep.equal([rev.e1a, rev.e1b, rev.e9a, rev.e9b, env.e1, env.e9].sort())
    const after = await snapshot(db)
    expect(after.environment_revisions.length).to.equal(before.environment_revisions.length - 4)
    expect(after.environments_v2.length).to.equal(before.environments_v2.length - 2)
  })

  it('--apply --archive archives the environment whose images all went; drc mongo restore puts it back equal', async () => {
    await pushImages(testClient(registry!.url), [
      {layers: [{seed: 'dd-eaa', size: 512}], repository: ENV_REPO, tags: [tagOf('eaa')]},
    ])
    const before = await snapshot(db)
    const r = await runCli(
      ['deactivated', 'delete', '--unused-since-days', '30', '--apply', '--force', '--archive', '--json'],
      {env: runEnv},
    )
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    const out = resultOf<DeletionResult>(r.stdout)
    expect(out.deleted.flatMap((d) => d.tags)).to.deep.equal([tagOf('eaa')])
    expect(out.mongo_updates!.updated.map((u) => u.id)).to.deep.equal([env.ea])
    const after = await snapshot(db)
    const changed = after.environments_v2.filter((d) => !before.environments_v2.includes(d))
    expect(changed, 'exactly one environment changed').to.have.length(1)
    const doc = JSON.parse(changed[0]) as {_id: {$oid: string}; isArchived: boolean}
    expect([doc._id.$oid, doc.isArchived]).to.deep.equal([env.ea, true])
    expect({...after, environments_v2: []}).to.deep.equal({...before, environments_v2: []})

    const restore = await runCli(['mongo', 'restore', out.report_path!, '--json'], {env: runEnv})
    expect(restore.code, restore.stderr).to.equal(0)
    expect(await snapshot(db)).to.deep.equal(before)
  })
})
