import type {Db, MongoClient} from 'mongodb'

import type {DrcConfig} from '../config/types.js'

import {DrcError} from '../lib/errors.js'

/**
 * The MongoDB connection string for `mongo.*`: `mongo.uri` as given, or built from host/port/replicaset and
 * credentials. User and password are URL-encoded (the predecessor broke on `@`, `:` or `/`, domain-spec §6.2 #20).
 */
export function mongoUri(mongo: DrcConfig['mongo']): string {
  if (mongo.uri) return mongo.uri
  const auth = mongo.password ? `${encodeURIComponent(mongo.username)}:${encodeURIComponent(mongo.password)}@` : ''
  const params = new URLSearchParams()
  if (mongo.replicaset) params.set('replicaSet', mongo.replicaset)
  if (mongo.password) params.set('authSource', 'admin')
  const query = params.size > 0 ? `?${params.toString()}` : ''
  return `mongodb://${auth}${mongo.host}:${mongo.port}/${query}`
}

export interface MongoHandle {
  client: MongoClient
  close(): Promise<void>
  db: Db
}

/** Connects (mongodb is imported here, not at module load, so `drc --help` stays fast). */
export async function connectMongo(mongo: DrcConfig['mongo'], opts: {timeoutMs?: number} = {}): Promise<MongoHandle> {
  const {MongoClient} = await import('mongodb')
  const uri = mongoUri(mongo)
  const client = new MongoClient(uri, {
    connectTimeoutMS: opts.timeoutMs ?? 10_000,
    serverSelectionTimeoutMS: opts.timeoutMs ?? 10_000,
  })
  try {
    await client.connect()
  } catch (error) {
    await client.close().catch(() => {})
    throw new DrcError(`cannot connect to MongoDB at ${redactUri(uri)}: ${(error as Error).message}`, {
      cause: error,
      suggestions: ['check mongo.uri (or mongo.host/port/replicaset/username/password) with `drc config show`'],
    })
  }

  return {client, close: () => client.close(), db: client.db(mongo.db)}
}

export function redactUri(uri: string): string {
  return uri.replace(/\/\/([^@/]*)@/, '//***@')
}
