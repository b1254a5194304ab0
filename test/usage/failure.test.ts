import {expect} from 'chai'
import {MongoClient} from 'mongodb'

import {buildUsageGraph} from '../../packages/core/src/usage/build.js'
import {UsageSourceError} from '../../packages/core/src/usage/reader.js'
import {generateDataset} from '../fixtures/dataset.js'
import {seedMongo} from '../fixtures/seed-mongo.js'
import {startFerretdb} from '../support/ferretdb.js'

describe('usage graph fails closed', function () {
  this.timeout(120_000)

  it('refuses with an error naming the source when the server stops in the middle of reading runs', async () => {
    // Its own server: this test kills it. More runs than one cursor batch (5,000), so a getMore must fail.
    const mongo = await startFerretdb()
    const client = new MongoClient(mongo.uri, {serverSelectionTimeoutMS: 2000})
    try {
      const dataset = generateDataset({
        environments: 10,
        models: 1,
        now: new Date(),
        revisionsPerEnvironment: 2,
        runs: 12_000,
        seed: 3,
        users: 2,
        versionsPerModel: 1,
      })
      await seedMongo(mongo.uri, 'usage_failure_test', dataset)
      await client.connect()
      const err = await buildUsageGraph(client.db('usage_failure_test'), {
        // Waits until the server process is gone before reading on.
        onDocument: (collection, count) => (collection === 'runs' && count === 10 ? mongo.stop() : undefined),
      }).then(
        () => null,
        (error: unknown) => error,
      )
      expect(err).to.be.instanceOf(UsageSourceError)
      expect((err as UsageSourceError).source).to.equal('runs')
      expect((err as Error).message).to.match(/usage source 'runs' cannot be read: .*refusing/)
    } finally {
      await client.close().catch(() => {})
      await mongo.stop().catch(() => {})
    }
  })
})
