import {expect} from 'chai'

import type {UnusedListResult} from '../src/commands/unused/list.js'

import {factsOf, generateDataset, seedMongo} from '../../../test/fixtures/index.js'
import {runCli} from '../../../test/support/cli.js'
import {services} from '../../../test/support/harness.js'
import {linkedPluginsEnv} from '../../../test/support/plugin-cli.js'

describe('@drc/plugin-unused: drc unused list (FerretDB)', function () {
  this.timeout(120_000)
  const db = 'plugin_unused_list'
  // Built 60 days ago, so the 7-day grace period protects nothing and only usage decides.
  const dataset = generateDataset({
    environments: 14,
    models: 3,
    now: new Date(Date.now() - 60 * 86_400_000),
    revisionsPerEnvironment: 3,
    runs: 80,
    seed: 3,
    users: 3,
    versionsPerModel: 1,
  })
  const facts = factsOf(dataset)
  let env: Record<string, string>

  before(async () => {
    await seedMongo(services().mongo.uri, db, dataset)
    env = {...linkedPluginsEnv('unused'), DRC_MONGO_URI: services().mongo.uri, MONGODB_DB: db}
  })

  // The whole-environment rule itself is covered trap by trap in delete.test.ts (hand-made world).
  it('lists only non-archived environments, each with all of its tags', () => {
    const r = runCli(['unused', 'list', '--json'], {env})
    expect(r.code, r.stderr).to.equal(0)
    const out = (r.json() as {result: UnusedListResult}).result
    const archived = new Set(facts.archivedEnvironmentIds)
    for (const u of out.unused) {
      expect(archived.has(u.environmentId), u.environmentId).to.equal(false)
      const tags = dataset.collections.environment_revisions
        .filter((x) => String(x.environmentId) === u.environmentId)
        .map((x) => x.metadata.dockerImageName.tag as string)
      expect(u.tags.sort()).to.deep.equal(tags.sort())
    }
  })

  it('protects everything inside a grace period longer than the data is old', () => {
    const r = runCli(['unused', 'list', '--grace-period-days', '365', '--json'], {env})
    expect((r.json() as {result: UnusedListResult}).result.unused).to.deep.equal([])
  })
})
