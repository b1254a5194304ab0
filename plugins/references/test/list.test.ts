import {expect} from 'chai'

import type {ReferencesListResult} from '../src/commands/references/list.js'

import {generateDataset, seedMongo} from '../../../test/fixtures/index.js'
import {resultOf} from '../../../test/lifecycle/world.js'
import {runCli} from '../../../test/support/cli.js'
import {services} from '../../../test/support/harness.js'
import {linkedPluginsEnv} from '../../../test/support/plugin-cli.js'

describe('@drc/plugin-references: drc references list (FerretDB)', function () {
  this.timeout(120_000)
  const db = 'plugin_references_list'
  const dataset = generateDataset({
    environments: 8,
    models: 3,
    now: new Date(),
    revisionsPerEnvironment: 2,
    runs: 10,
    seed: 5,
    users: 2,
    versionsPerModel: 2,
  })
  let env: Record<string, string>

  before(async () => {
    await seedMongo(services().mongo.uri, db, dataset)
    env = {...linkedPluginsEnv('references'), DRC_MONGO_URI: services().mongo.uri, MONGODB_DB: db}
  })

  it('finds every image reference of revisions and model version builds, with its field path', () => {
    const r = runCli(['references', 'list', '--json'], {env})
    expect(r.code, r.stderr).to.equal(0)
    const out = resultOf<ReferencesListResult>(r.stdout)
    const revisionTags = dataset.collections.environment_revisions.filter(
      (d) => d.metadata?.dockerImageName?.tag,
    ).length
    const slugTags = dataset.collections.model_versions.flatMap((v) =>
      (v.metadata?.builds ?? []).filter((b: {slug?: {image?: {tag?: string}}}) => b.slug?.image?.tag),
    ).length
    expect(out.byCollection).to.deep.equal({environment_revisions: revisionTags, model_versions: slugTags})
    expect(out.total).to.equal(revisionTags + slugTags)
    const model = out.references.find((x) => x.collection === 'model_versions')!
    expect(model.fieldPath).to.match(/^metadata\.builds\.\d+\.slug\.image$/)
    expect(model.repository).to.equal('dominodatalab/model')
  })

  it('filters by --collection and rejects an unknown one with exit 2', () => {
    const r = runCli(['references', 'list', '--collection', 'model_versions', '--json'], {env})
    expect(Object.keys(resultOf<ReferencesListResult>(r.stdout).byCollection)).to.deep.equal(['model_versions'])
    expect(runCli(['references', 'list', '--collection', 'runs'], {env}).code).to.equal(2)
  })
})
