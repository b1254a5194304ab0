import type {Db, MongoClient} from 'mongodb'

import type {DrcConfig} from '../config/types.js'
import type {SecretReader} from '../kube/client.js'

import {PLATFORM_SECRETS, readPasswordSecret} from '../kube/secrets.js'
import {DrcError, errorMessage} from '../lib/errors.js'

export interface MongoConnectOptions {
  appName?: string
  /** Fallback for the password: reads the `mongodb-replicaset-admin` secret of the platform namespace. */
  readSecret?: SecretReader
  /** How long the driver looks for a server before giving up (default 10 s; the driver's own is 30 s). */
  serverSelectionTimeoutMS?: number
}

export interface MongoConnection {
  client: MongoClient
  db: Db
}

export interface MongoTarget {
  /** The database drc reads (mongo.db, or the one named in mongo.uri's path). */
  database: string
  /** The connection string with the password replaced by ***, for messages. */
  redacted: string
  uri: string
}

/** Replaces the password of a mongodb:// URI with ***, so it can appear in messages and reports. */
export function redactMongoUri(uri: string): string {
  return uri.replace(/^(mongodb(?:\+srv)?:\/\/[^:@/]*:)[^@/]*@/, '$1***@')
}

function databaseOfUri(uri: string): string | undefined {
  const match = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]+)/.exec(uri)
  return match ? decodeURIComponent(match[1]) : undefined
}

/**
 * Works out where to connect. `mongo.uri` is used as given. Otherwise the URI is built from host, port,
 * replica set and credentials, URL-encoding the user and password (a password with `@` or `/` would
 * otherwise corrupt the URI). The password comes from the configuration (mongo.password, MONGODB_PASSWORD)
 * or, when missing, from the Kubernetes secret `mongodb-replicaset-admin` (keys `password` and optional `user`).
 */
export async function resolveMongoTarget(
  config: Pick<DrcConfig, 'kubernetes' | 'mongo'>,
  opts: Pick<MongoConnectOptions, 'readSecret'> = {},
): Promise<MongoTarget> {
  const m = config.mongo
  if (m.uri) return {database: databaseOfUri(m.uri) ?? m.db, redacted: redactMongoUri(m.uri), uri: m.uri}

  let {username} = m
  let {password} = m
  if (!password) {
    const secret = PLATFORM_SECRETS.mongo
    const missing = 'MongoDB password is not set (mongo.password / MONGODB_PASSWORD)'
    const data = await readPasswordSecret({
      configHint: 'set mongo.password (or MONGODB_PASSWORD), or mongo.uri (DRC_MONGO_URI) with the credentials in it',
      missing,
      namespace: config.kubernetes.domino_platform_namespace,
      noAccess: `${missing} and no Kubernetes access was given to read it`,
      readSecret: opts.readSecret,
      secret,
    })
    password = data[secret.passwordKey]
    // The secret's user belongs with its password; the configured user name is only a default then.
    if (data[secret.userKey]) username = data[secret.userKey]
  }

  const query = m.replicaset ? `?replicaSet=${encodeURIComponent(m.replicaset)}` : ''
  const hostPort = `${m.host}:${m.port}`
  const userInfo = `${encodeURIComponent(username)}:${encodeURIComponent(password)}`
  return {
    database: m.db,
    redacted: `mongodb://${encodeURIComponent(username)}:***@${hostPort}/${query}`,
    uri: `mongodb://${userInfo}@${hostPort}/${query}`,
  }
}

/**
 * The shared MongoDB connection factory: resolves the target, connects (the driver is imported here,
 * not at start-up) and returns the client with the configured database. The caller closes the client.
 */
export async function connectMongo(
  config: Pick<DrcConfig, 'kubernetes' | 'mongo'>,
  opts: MongoConnectOptions = {},
): Promise<MongoConnection> {
  const target = await resolveMongoTarget(config, opts)
  const {MongoClient} = await import('mongodb')
  // A timeout written in the URI is the operator's choice; the driver would let the option object win.
  const uriSetsTimeout = /[?&]serverSelectionTimeoutMS=/i.test(target.uri)
  const client = new MongoClient(target.uri, {
    appName: opts.appName ?? 'drc',
    ...(uriSetsTimeout ? {} : {serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS ?? 10_000}),
  })
  try {
    await client.connect()
  } catch (error) {
    await client.close().catch(() => {})
    throw new DrcError(`cannot connect to MongoDB at ${target.redacted}: ${errorMessage(error)}`, {
      cause: error,
      suggestions: [
        'check mongo.uri, or mongo.host / mongo.port / mongo.replicaset, and that the server is reachable from here',
        'check the MongoDB user name and password (mongo.username, mongo.password / MONGODB_PASSWORD)',
      ],
    })
  }

  return {client, db: client.db(target.database)}
}
