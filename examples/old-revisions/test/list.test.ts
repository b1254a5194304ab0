import {expect} from 'chai'
import path from 'node:path'

import type {OldRevisionsResult} from '../src/commands/old-revisions/list.js'

import {generateDataset, seedMongo} from '../../../test/fixtures/index.js'
import {isolatedOclifEnv, REPO_ROOT, runCli} from '../../../test/support/cli.js'
import {services} from '../../../test/support/harness.js'

describe('example third-party plugin: drc old-revisions list (linked, FerretDB)', function () {
  this.timeout(120_000)
  const db = 'example_old_revisions'
  const dataset = generateDataset({
    environments: 10,
    models: 2,
    now: new Date(),
    revisionsPerEnvironment: 4,
    runs: 10,
    seed: 9,
    users: 2,
    versionsPerModel: 1,
  })
  let env: Record<string, string>

  before(async () => {
    await seedMongo(services().mongo.uri, db, dataset)
    env = {...isolatedOclifEnv(), DRC_MONGO_URI: services().mongo.uri, MONGODB_DB: db}
    const link = runCli(['plugins', 'link', path.join(REPO_ROOT, 'examples/old-revisions'), '--no-install'], {env})
    expect(link.code, link.stderr).to.equal(0)
  })

  it('lists revisions beyond the newest N, never an active one or the clone source of a kept one', () => {
    const r = runCli(['old-revisions', 'list', '--keep', '1', '--json'], {env})
    expect(r.code, r.stderr).to.equal(0)
    const out = r.json() as OldRevisionsResult
    const revs = dataset.collections.environment_revisions
    const active = new Set(dataset.collections.environments_v2.map((e) => String(e.activeRevisionId)))
    expect(out.revisions.length).to.be.greaterThan(0)
    for (const o of out.revisions) {
      expect(active.has(o.revisionId), o.revisionId).to.equal(false)
      const siblings = revs.filter((x) => String(x.environmentId) === o.environmentId && x.metadata?.isBuilt !== false)
      const newest = siblings
        .map((x) => String(x._id))
        .sort()
        .at(-1)
      expect(o.revisionId).not.to.equal(newest)
    }

    const listed = new Set(out.revisions.map((o) => o.revisionId))
    for (const x of revs)
      if (!listed.has(String(x._id)) && x.clonedEnvironmentRevisionId)
        expect(listed.has(String(x.clonedEnvironmentRevisionId)), `clone source of ${x._id}`).to.equal(false)

    const keepMany = runCli(['old-revisions', 'list', '--keep', '100', '--json'], {env})
    expect((keepMany.json() as OldRevisionsResult).revisions).to.deep.equal([])
  })

  it('rejects --keep 0 as a usage error', () => {
    expect(runCli(['old-revisions', 'list', '--keep', '0'], {env}).code).to.equal(2)
  })
})
