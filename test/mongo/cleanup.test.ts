import type {Db} from 'mongodb'

import {expect} from 'chai'
import {randomUUID} from 'node:crypto'
import {existsSync, mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {MongoRecord} from '../../packages/core/src/lifecycle/types.js'
import type {MongoCleanupResult} from '../../packages/core/src/mongo/types.js'

import {cleanupRecords} from '../../packages/core/src/mongo/cleanup.js'
import {restoreDocuments} from '../../packages/core/src/mongo/restore.js'
import {oldId, seedDocs, snapshot} from '../lifecycle/world.js'
import {services} from '../support/harness.js'

/** The clean-up guards and the save-before-delete order, against FerretDB (a database per test). */
describe('mongo clean-up: guards, undo journal first, restore (FerretDB)', function () {
  this.timeout(60_000)
  let client: import('mongodb').MongoClient
  let dbName: string
  let db: Db

  beforeEach(async () => {
    const {MongoClient} = await import('mongodb')
    client = await MongoClient.connect(services().mongo.uri)
    dbName = `mongo_guards_${randomUUID().slice(0, 8)}`
    db = client.db(dbName)
  })

  afterEach(async () => {
    await client.close()
  })

  const run = async (eligible: MongoRecord[], database = db) => {
    const journalPath = path.join(mkdtempSync(path.join(tmpdir(), 'drc-undo-')), 'undo.json')
    const result: MongoCleanupResult = {database: dbName, journal: null, kept: [], removed: []}
    await cleanupRecords({db: database, eligible, journalPath, result, strategy: 'test'})
    return {journalPath, result}
  }

  it('keeps a revision a version of a non-archived model references, an environment a non-archived model names, a model with a version left', async () => {
    const {ObjectId} = await import('mongodb')
    const o = (h: string) => ObjectId.createFromHexString(h)
    const [env, rev, freeRev, liveModel, oldModel, version, archivedModel, archivedVersion] = Array.from(
      {length: 8},
      () => oldId(),
    )
    await seedDocs(dbName, {
      environment_revisions: [
        {_id: o(rev), environmentId: o(env)},
        {_id: o(freeRev), environmentId: o(oldId())},
      ],
      environments_v2: [{_id: o(env), isArchived: true}],
      model_versions: [
        {_id: o(version), environmentRevisionId: o(rev), modelId: {value: o(liveModel)}},
        {_id: o(archivedVersion), environmentRevisionId: o(freeRev), modelId: {value: o(archivedModel)}},
      ],
      models: [
        {_id: o(liveModel), environmentId: o(env), isArchived: false},
        {_id: o(archivedModel), isArchived: true},
        {_id: o(oldModel), isArchived: true},
      ],
    })
    // The archived model's version stays this time (not eligible): the model is kept while it remains.
    const {result} = await run([
      {collection: 'environment_revisions', id: rev},
      {collection: 'environment_revisions', id: freeRev},
      {collection: 'environments_v2', id: env},
      {collection: 'models', id: archivedModel},
      {collection: 'models', id: oldModel},
    ])
    const reason = (id: string) => result.kept.find((k) => k.id === id)?.reason
    expect(reason(rev)).to.equal(`model version ${version} of non-archived model ${liveModel} references it`)
    expect(reason(env)).to.match(new RegExp(`its revision ${rev} remains|non-archived model ${liveModel}`))
    expect(reason(archivedModel)).to.equal(`its version ${archivedVersion} remains`)
    // A version of an archived model does not protect its revision; a model without versions goes.
    expect(result.removed.map((r) => r.id).sort()).to.deep.equal([freeRev, oldModel].sort())

    // The environment with no revision left is still kept while a non-archived model names it.
    await db.collection('environment_revisions').deleteOne({_id: o(rev)})
    const second = await run([{collection: 'environments_v2', id: env}])
    expect(second.result.kept.map((k) => k.reason)).to.deep.equal([`non-archived model ${liveModel} references it`])
    expect(await db.collection('environments_v2').countDocuments({_id: o(env)})).to.equal(1)
  })

  it('saves each document to the undo journal before deleting it; restore refuses an _id that exists again', async () => {
    const {Long, ObjectId} = await import('mongodb')
    const id = oldId()
    await seedDocs(dbName, {
      models: [{_id: ObjectId.createFromHexString(id), big: Long.fromString('12345678901234567'), isArchived: true}],
    })
    const before = await snapshot(dbName)
    const seenAtDelete: boolean[] = []
    let journalPath = ''
    // The real database, with deleteOne observed: at that moment the journal must already hold the document.
    const observed = new Proxy(db, {
      get(target, prop, receiver) {
        if (prop !== 'collection') return Reflect.get(target, prop, receiver)
        return (name: string) => {
          const c = target.collection(name)
          return new Proxy(c, {
            get(ct, p, r) {
              if (p !== 'deleteOne') return Reflect.get(ct, p, r)
              return (...args: Parameters<typeof c.deleteOne>) => {
                seenAtDelete.push(existsSync(journalPath) && readFileSync(journalPath, 'utf8').includes(id))
                return ct.deleteOne(...args)
              }
            },
          })
        }
      },
    })
    const journalDir = mkdtempSync(path.join(tmpdir(), 'drc-undo-'))
    journalPath = path.join(journalDir, 'undo.json')
    const result: MongoCleanupResult = {database: dbName, journal: null, kept: [], removed: []}
    await cleanupRecords({db: observed, eligible: [{collection: 'models', id}], journalPath, result, strategy: 't'})
    expect(seenAtDelete).to.deep.equal([true])
    expect(result.removed.map((r) => r.id)).to.deep.equal([id])
    expect(await db.collection('models').countDocuments()).to.equal(0)

    const restored = await restoreDocuments(db, result.removed, {dryRun: false})
    expect(restored.restored.map((r) => r.id)).to.deep.equal([id])
    expect(await snapshot(dbName)).to.deep.equal(before)
    const again = await restoreDocuments(db, result.removed, {dryRun: false})
    expect(again.restored).to.deep.equal([])
    expect(again.refused).to.deep.equal([
      {collection: 'models', id, reason: 'a document with this _id exists again in models'},
    ])
  })
})
