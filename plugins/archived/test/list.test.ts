import {expect} from 'chai'

import type {ArchivedListResult} from '../src/commands/archived/list.js'

import {factsOf, generateDataset, seedMongo} from '../../../test/fixtures/index.js'
import {runCli} from '../../../test/support/cli.js'
import {services} from '../../../test/support/harness.js'
import {linkedPluginsEnv} from '../../../test/support/plugin-cli.js'

describe('@drc/plugin-archived: drc archived list (FerretDB)', function () {
  this.timeout(120_000)
  const db = 'plugin_archived_list'
  const dataset = generateDataset({
    environments: 12,
    models: 4,
    now: new Date(),
    revisionsPerEnvironment: 3,
    runs: 40,
    seed: 11,
    users: 3,
    versionsPerModel: 2,
  })
  const facts = factsOf(dataset)
  let env: Record<string, string>

  before(async () => {
    await seedMongo(services().mongo.uri, db, dataset)
    env = {...linkedPluginsEnv('archived'), DRC_MONGO_URI: services().mongo.uri, MONGODB_DB: db}
  })

  it('lists exactly the archived environments and models with the tags of their revisions and versions', () => {
    const r = runCli(['archived', 'list', '--json'], {env})
    expect(r.code, r.stderr).to.equal(0)
    const out = (r.json() as {result: ArchivedListResult}).result
    expect(out.environments.map((e) => e.id).sort()).to.deep.equal([...facts.archivedEnvironmentIds].sort())
    expect(out.models.map((m) => m.id).sort()).to.deep.equal([...facts.archivedModelIds].sort())
    const revisions = dataset.collections.environment_revisions
    for (const e of out.environments) {
      const expected = revisions.filter((r) => String(r.environmentId) === e.id && r.metadata?.dockerImageName?.tag)
      expect(e.images.map((i) => i.tag).sort(), e.id).to.deep.equal(
        expected.map((r) => r.metadata.dockerImageName.tag).sort(),
      )
      expect(e.children).to.equal(revisions.filter((r) => String(r.environmentId) === e.id).length)
    }
  })

  it('narrows to models with --model and refuses --model with --environment', () => {
    const models = runCli(['archived', 'list', '--model', '--json'], {env})
    expect((models.json() as {result: ArchivedListResult}).result.environments).to.deep.equal([])
    const both = runCli(['archived', 'list', '--model', '--environment'], {env})
    expect(both.code).to.equal(2)
    expect(both.stderr).to.match(/cannot also be provided/)
  })

  it('names MongoDB and exits 1 when it cannot connect', () => {
    const r = runCli(['archived', 'list'], {
      env: {...env, DRC_MONGO_URI: 'mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500'},
    })
    expect(r.code).to.equal(1)
    expect(r.stderr).to.match(/cannot connect to MongoDB at mongodb:\/\/127\.0\.0\.1:1/)
  })
})
