import {expect} from 'chai'
import {MongoClient, ObjectId} from 'mongodb'

import {resultOf} from '../../../test/lifecycle/world.js'
import {runCli} from '../../../test/support/cli.js'
import {services} from '../../../test/support/harness.js'
import {linkedPluginsEnv} from '../../../test/support/plugin-cli.js'
import {imageReferences} from '../src/references.js'

/** Malformed documents are named (collection, _id, field) and skipped; nothing crashes. */
describe('@drc/plugin-references: malformed MongoDB documents (FerretDB)', function () {
  this.timeout(120_000)
  const dbName = 'plugin_references_malformed'
  const good = new ObjectId()
  let client: MongoClient

  before(async () => {
    client = new MongoClient(services().mongo.uri)
    await client.connect()
    const db = client.db(dbName)
    await db.dropDatabase()
    await db
      .collection('environment_revisions')
      .insertMany([
        {_id: good, metadata: {dockerImageName: {repository: 'r', tag: 'good-1'}}},
        {_id: 'not-an-id' as never, metadata: {dockerImageName: {repository: 'r', tag: 'bad-id'}}},
        {_id: new ObjectId(), metadata: {dockerImageName: {tag: 7}}},
        {_id: new ObjectId()},
      ])
    await db.collection('model_versions').insertMany([
      {_id: new ObjectId(), metadata: {builds: {slug: {image: {tag: 'x'}}}}},
      {_id: new ObjectId(), metadata: 'oops'},
      {_id: new ObjectId(), metadata: {builds: [null, {slug: {image: 'nope'}}, {slug: {image: {tag: 'ok-v1'}}}]}},
    ])
  })

  after(async () => {
    await client?.close()
  })

  it('through the library: keeps the good references and names every bad field', async () => {
    const warnings: string[] = []
    const refs = []
    for await (const r of imageReferences(client.db(dbName), (m) => warnings.push(m))) refs.push(r.tag)
    expect(refs.sort()).to.deep.equal(['good-1', 'ok-v1'])
    const text = warnings.join('\n')
    expect(text).to.match(/environment_revisions document _id 'not-an-id': field '_id' is not an ObjectId/)
    expect(text).to.match(/environment_revisions document _id .*: field 'metadata.dockerImageName' is not an image/)
    expect(text).to.match(/model_versions document _id .*: field 'metadata.builds' is not an array/)
    expect(text).to.match(/model_versions document _id .*: field 'metadata.builds.1.slug.image' is not an image/)
    // `metadata: 'oops'` projects to nothing (names no image): no warning.
    expect(warnings).to.have.length(4)
  })

  it('through bin/run.js: exit 0, warnings on stderr, the good references listed', () => {
    const env = {...linkedPluginsEnv('references'), DRC_MONGO_URI: services().mongo.uri, MONGODB_DB: dbName}
    const r = runCli(['references', 'list', '--json'], {env})
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stderr).to.not.match(/TypeError|BSONError/)
    expect(r.stderr).to.match(/field 'metadata.builds' is not an array/)
    expect(resultOf<{total: number}>(r.stdout).total).to.equal(2)
  })
})
