import {expect} from 'chai'
import {type Db, MongoClient, ObjectId} from 'mongodb'

import {buildUsageGraph} from '../../packages/core/src/usage/build.js'
import {isInUse} from '../../packages/core/src/usage/live.js'
import {archivedEnvironments, archivedModels} from '../../plugins/archived/src/archived.js'
import {services} from '../support/harness.js'
import {seedShaped} from './shapes.js'

const tag = (env: string, n: number) => ({dockerImageName: {repository: 'r', tag: `${env}-${n}`}})

/** Archived objects with malformed documents: named (collection, _id, field), kept, nothing crashes. */
describe('malformed MongoDB documents fail closed (archived strategy, usage graph; FerretDB)', function () {
  this.timeout(120_000)
  let client: MongoClient
  let db: Db
  const hexEnv = new ObjectId().toHexString()
  const goodEnv = new ObjectId()
  const badRev = new ObjectId()
  const liveModel = new ObjectId()
  const soloTag = `${liveModel.toHexString()}-v1`

  before(async () => {
    client = new MongoClient(services().mongo.uri)
    await client.connect()
    db = client.db('usage_malformed_archived')
    await seedShaped(db, {
      environment_revisions: [
        {_id: new ObjectId(), environmentId: goodEnv, metadata: tag(goodEnv.toHexString(), 1)},
        {_id: badRev, environmentId: goodEnv, metadata: 'broken'},
        {_id: new ObjectId(), environmentId: goodEnv},
        {_id: new ObjectId(), environmentId: hexEnv.toUpperCase(), metadata: tag(hexEnv, 1)},
        {_id: new ObjectId(), environmentId: 'env-1', metadata: tag('env-1', 1)},
      ],
      environments_v2: [
        {_id: goodEnv, isArchived: true, name: 'good'},
        // A string _id that is no ObjectId (crashed with BSONError) and one that is hex (a valid id in string form).
        {_id: 'env-1' as never, isArchived: true, name: 'string id'},
        {_id: hexEnv as never, isArchived: true, name: 'hex string id'},
      ],
      model_versions: [
        {_id: new ObjectId(), metadata: {builds: 'x'}, modelId: {value: new ObjectId()}},
        // One build stored as an object instead of a one-element array: MongoDB's dotted path matches it.
        {
          _id: new ObjectId(),
          metadata: {builds: {slug: {image: {repository: 'dominodatalab/model', tag: soloTag}}}},
          modelId: {value: liveModel},
        },
      ],
      models: [
        {_id: 42 as never, isArchived: true, name: 'numeric id'},
        {_id: liveModel, isArchived: false, name: 'live'},
      ],
    })
  })

  after(async () => {
    await client?.close()
  })

  it('archivedEnvironments: warns naming collection, _id and field, and leaves the malformed items out', async () => {
    const warnings: string[] = []
    const envs = await archivedEnvironments(db, (m) => warnings.push(m))
    expect(envs.map((e) => e.id).sort()).to.deep.equal([goodEnv.toHexString(), hexEnv].sort())
    const good = envs.find((e) => e.id === goodEnv.toHexString())!
    expect(good.images.map((i) => i.tag)).to.deep.equal([`${goodEnv.toHexString()}-1`])
    expect(envs.find((e) => e.id === hexEnv)!.images.map((i) => i.tag)).to.deep.equal([`${hexEnv}-1`])
    expect(warnings.join('\n')).to.match(/environments_v2 document _id 'env-1': field '_id' is not an ObjectId/)
    expect(warnings.join('\n')).to.match(
      new RegExp(`environment_revisions document _id .*${badRev.toHexString()}.*: field 'metadata' is not an object`),
    )
    expect(warnings).to.have.length(2)
  })

  it('archivedModels: a model with a numeric _id and a version whose builds is no array are named, not fatal', async () => {
    const warnings: string[] = []
    expect(await archivedModels(db, (m) => warnings.push(m))).to.deep.equal([])
    expect(warnings.join('\n')).to.match(/models document _id 42: field '_id' is not an ObjectId/)
  })

  it('a version whose builds is one object, not an array: the graph protects its slug image as the re-check does', async () => {
    const graph = await buildUsageGraph(db, {now: new Date()})
    const rules = {gracePeriodDays: 0, now: new Date()}
    expect(graph.evaluate('model', soloTag, rules).inUse).to.equal(true)
    expect((await isInUse(db, {imageType: 'model', tag: soloTag}, rules)).inUse).to.equal(true)
  })

  it('the usage graph and the re-check read the same documents without crashing', async () => {
    const graph = await buildUsageGraph(db, {now: new Date()})
    const rules = {gracePeriodDays: 0, now: new Date()}
    for (const u of graph.all()) {
      // eslint-disable-next-line no-await-in-loop -- one re-check per tag
      const live = await isInUse(db, {imageType: u.imageType, tag: u.tag}, rules)
      expect(live.inUse).to.equal(graph.evaluate(u.imageType, u.tag, rules).inUse)
    }
  })
})
