/**
 * MongoDB-only runs of drc (archive, reset-defaults): a world's documents in a fresh database, drc's environment
 * without a registry, and whole-database snapshots as canonical Extended JSON (every BSON type compared).
 */
import {randomUUID} from 'node:crypto'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {World} from './world.js'

import {services} from '../../../test/support/harness.js'

export async function startMongoWorld(
  w: World,
  pluginEnv: Record<string, string>,
  prefix: string,
): Promise<{db: string; env: Record<string, string>}> {
  const db = `${prefix}_${randomUUID().slice(0, 8)}`
  await withDb(db, async (database) => {
    for (const [name, docs] of Object.entries(w.collections)) {
      // eslint-disable-next-line no-await-in-loop -- a handful of collections
      await database.createCollection(name)
      // eslint-disable-next-line no-await-in-loop
      if (docs.length > 0) await database.collection(name).insertMany(docs.map((d) => ({...d})))
    }
  })
  const outputDir = mkdtempSync(path.join(tmpdir(), `drc-${prefix}-`))
  const file = path.join(outputDir, 'drc.yaml')
  writeFileSync(file, 'security:\n  require_confirmation: true\n')
  const env = {
    ...pluginEnv,
    CONFIG_FILE: file,
    DRC_MONGO_URI: services().mongo.uri,
    MONGODB_DB: db,
    OUTPUT_DIR: outputDir,
  }
  return {db, env}
}

export async function withDb<T>(db: string, fn: (database: import('mongodb').Db) => Promise<T>): Promise<T> {
  const {MongoClient} = await import('mongodb')
  const client = await MongoClient.connect(services().mongo.uri)
  try {
    return await fn(client.db(db))
  } finally {
    await client.close()
  }
}

/** Every document of every collection as canonical Extended JSON, by collection, sorted. */
export async function snapshotAll(db: string): Promise<Record<string, string[]>> {
  const {BSON} = await import('mongodb')
  return withDb(db, async (database) => {
    const out: Record<string, string[]> = {}
    for (const {name} of await database.listCollections({}, {nameOnly: true}).toArray()) {
      // eslint-disable-next-line no-await-in-loop
      const docs = await database.collection(name).find({}).toArray()
      out[name] = docs.map((d) => JSON.stringify(BSON.EJSON.serialize(d, {relaxed: false}))).sort()
    }

    return out
  })
}

/** The snapshot with the given documents' lines left out (what must not have changed). */
export function without(snap: Record<string, string[]>, collection: string, ids: string[]): Record<string, string[]> {
  const drop = (line: string) =>
    ids.some((id) => line.includes(`{"$oid":"${id}"}`) && line.startsWith(`{"_id":{"$oid":"${id}"}`))
  return {...snap, [collection]: snap[collection].filter((l) => !drop(l))}
}
