import {expect} from 'chai'

import type {DrcConfig} from '../../packages/core/src/config/types.js'

import {loadConfig} from '../../packages/core/src/config/load.js'
import {redactMongoUri, resolveMongoTarget} from '../../packages/core/src/services/mongo.js'

async function config(env: Record<string, string>): Promise<DrcConfig> {
  const loaded = await loadConfig({cwd: '/nonexistent-drc-test', env})
  return loaded.config
}

describe('services/mongo: resolveMongoTarget', () => {
  it('uses mongo.uri as given, with the database from its path', async () => {
    const t = await resolveMongoTarget(
      await config({DRC_MONGO_URI: 'mongodb://u:secret@db.example:27017/dominox?authSource=admin'}),
    )
    expect(t.uri).to.equal('mongodb://u:secret@db.example:27017/dominox?authSource=admin')
    expect(t.database).to.equal('dominox')
    expect(t.redacted).to.equal('mongodb://u:***@db.example:27017/dominox?authSource=admin')
  })

  it('falls back to mongo.db when the URI names no database', async () => {
    const t = await resolveMongoTarget(await config({DRC_MONGO_URI: 'mongodb://127.0.0.1:1/', MONGODB_DB: 'other'}))
    expect(t.database).to.equal('other')
  })

  it('builds the URI from host/port/replica set and URL-encodes the credentials', async () => {
    const c = await config({
      MONGODB_HOST: 'mongo.svc',
      MONGODB_PASSWORD: 'p@ss/w:rd%',
      MONGODB_PORT: '27018',
      MONGODB_USERNAME: 'ad@min',
    })
    const t = await resolveMongoTarget(c)
    expect(t.uri).to.equal('mongodb://ad%40min:p%40ss%2Fw%3Ard%25@mongo.svc:27018/?replicaSet=rs0')
    expect(t.redacted).to.equal('mongodb://ad%40min:***@mongo.svc:27018/?replicaSet=rs0')
    expect(t.database).to.equal('domino')
    // The encoded URI must round-trip to the original credentials.
    const parsed = new URL(t.uri)
    expect(decodeURIComponent(parsed.username)).to.equal('ad@min')
    expect(decodeURIComponent(parsed.password)).to.equal('p@ss/w:rd%')
  })

  it('reads user and password from the mongodb-replicaset-admin secret when no password is configured', async () => {
    const c = await config({DOMINO_PLATFORM_NAMESPACE: 'dom-ns'})
    const asked: string[] = []
    const t = await resolveMongoTarget(c, {
      async readSecret(namespace, name) {
        asked.push(`${namespace}/${name}`)
        return {password: 's3cr#t', user: 'root'}
      },
    })
    expect(asked).to.deep.equal(['dom-ns/mongodb-replicaset-admin'])
    expect(t.uri).to.equal('mongodb://root:s3cr%23t@mongodb-replicaset:27017/?replicaSet=rs0')
  })

  it('names both sources when neither the configuration nor the secret gives a password', async () => {
    const c = await config({})
    let error: Error | undefined
    try {
      await resolveMongoTarget(c, {
        async readSecret() {
          throw new Error('secret domino-platform/mongodb-replicaset-admin does not exist')
        },
      })
    } catch (error_) {
      error = error_ as Error
    }

    expect(error?.message).to.match(/MONGODB_PASSWORD/)
    expect(error?.message).to.match(/failed to load from Kubernetes secret domino-platform\/mongodb-replicaset-admin/)
    expect(error?.message).to.match(/does not exist/)
  })

  it('refuses without a password and without Kubernetes access', async () => {
    const c = await config({})
    let message = ''
    await resolveMongoTarget(c).catch((error: Error) => {
      message = error.message
    })
    expect(message).to.match(/MongoDB password is not set/)
  })

  it('redacts only the password', () => {
    expect(redactMongoUri('mongodb://a:b@h:1/x')).to.equal('mongodb://a:***@h:1/x')
    expect(redactMongoUri('mongodb://h:1/x')).to.equal('mongodb://h:1/x')
  })
})
