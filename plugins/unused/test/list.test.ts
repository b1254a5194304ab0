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

  it('lists exactly the environment tags the dataset left unused', () => {
    const r = runCli(['unused', 'list', '--json'], {env})
    expect(r.code, r.stderr).to.equal(0)
    const out = r.json() as UnusedListResult
    const expected = Object.entries(facts.environmentTagUsage)
      .filter(([, kinds]) => kinds.length === 0)
      .map(([tag]) => tag)
      .sort()
    expect(expected.length).to.be.greaterThan(0)
    expect(out.unused.map((u) => u.tag).sort()).to.deep.equal(expected)
    for (const tag of facts.activeRevisionTags) expect(out.unused.map((u) => u.tag)).not.to.include(tag)
    // Failed builds are named in Mongo but have no image: flagged, so no one looks for them in the registry.
    const failed = out.unused.filter((u) => !u.built).map((u) => u.tag)
    expect(failed.length).to.be.greaterThan(0)
    expect(failed.sort()).to.deep.equal(facts.failedRevisionTags.filter((t) => expected.includes(t)).sort())
  })

  it('protects everything inside a grace period longer than the data is old', () => {
    const r = runCli(['unused', 'list', '--grace-period-days', '365', '--json'], {env})
    expect((r.json() as UnusedListResult).unused).to.deep.equal([])
  })
})
