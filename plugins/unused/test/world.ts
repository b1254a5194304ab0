/**
 * A small hand-made Domino world with one environment per trap of issue 12 (names below), its images and the
 * environment for running drc against it. Revisions are 60 days old (past the 7-day grace period) unless noted.
 */
import {randomUUID} from 'node:crypto'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {ImageSpec} from '../../../test/fixtures/types.js'

import {pushImages} from '../../../test/fixtures/push-images.js'
import {testClient} from '../../../test/registry/helpers.js'
import {services} from '../../../test/support/harness.js'
import {type RegistryHandle, startRegistry} from '../../../test/support/registry.js'

export const REPO = 'dominodatalab/environment'
const DAY = 86_400_000

type Doc = Record<string, unknown>
export interface Env {
  id: string
  /** Revision ids by number (1-based; index 0 unused). */
  revs: string[]
  tags: string[]
}

export interface World {
  collections: Record<string, Doc[]>
  envs: Record<string, Env>
  images: ImageSpec[]
}

/** Options per environment: revisions, which one is active, archived, age of the revisions in days. */
interface EnvSpec {
  active?: number
  ageDays?: number
  /** Age in days per revision (1-based creation index - 1), overriding ageDays for that revision. */
  ages?: Array<number | undefined>
  archived?: boolean
  /** Revisions (1-based creation index) whose build failed: `isBuilt: false`, and no image is pushed. */
  failed?: number[]
  /** Revision numbers as stored in metadata.number, when they differ from the creation order. */
  numbers?: number[]
  revisions: number
}

export async function buildWorld(
  specs: Record<string, EnvSpec>,
  usage: (w: World, oid: (hex: string) => unknown, now: number) => void,
  /** Pairs of revisions ('K:1') whose images are one digest under two tags. */
  opts: {shareDigest?: Array<[string, string]>} = {},
): Promise<World> {
  const {ObjectId} = await import('mongodb')
  const now = Date.now()
  const oid = (hex: string) => ObjectId.createFromHexString(hex)
  const at = (daysAgo: number, i: number) => {
    const secs = Math.floor((now - daysAgo * DAY) / 1000) + i
    return ObjectId.createFromTime(secs).toHexString().slice(0, 8) + new ObjectId().toHexString().slice(8)
  }

  const w: World = {
    collections: {
      app_versions: [],
      environment_revisions: [],
      environments_v2: [],
      model_products: [],
      model_versions: [],
      models: [],
      organizations: [],
      projects: [],
      runs: [],
      scheduler_jobs: [],
      userPreferences: [],
      users: [],
      workspace: [],
      workspace_session: [],
    },
    envs: {},
    images: [],
  }
  let i = 0
  const failedTags = new Set<string>()
  for (const [name, s] of Object.entries(specs)) {
    const env: Env = {id: at(s.ageDays ?? 60, i++), revs: [''], tags: ['']}
    for (let n = 1; n <= s.revisions; n++) {
      const rev = at(s.ages?.[n - 1] ?? s.ageDays ?? 60, i++)
      const tag = `${env.id}-${s.numbers?.[n - 1] ?? n}`
      const failed = s.failed?.includes(n) ?? false
      if (failed) failedTags.add(tag)
      env.revs.push(rev)
      env.tags.push(tag)
      w.collections.environment_revisions.push({
        _id: oid(rev),
        environmentId: oid(env.id),
        metadata: {
          dockerImageName: {repository: REPO, tag},
          isBuilt: !failed,
          number: s.numbers?.[n - 1] ?? n,
        },
      })
    }

    w.collections.environments_v2.push({
      _id: oid(env.id),
      activeRevisionId: oid(env.revs[s.active ?? s.revisions]),
      isArchived: s.archived ?? false,
      name,
    })
    w.envs[name] = env
  }

  usage(w, oid, now)
  addImages(w, failedTags, opts.shareDigest ?? [])
  return w
}

/** One image per tag (failed builds have none), pairs of `shareDigest` pushed as one image under two tags. */
function addImages(w: World, failedTags: ReadonlySet<string>, shareDigest: Array<[string, string]>): void {
  const shared = new Map<string, string>()
  // 'K:1' names revision 1 of environment K.
  const tagOf = (ref: string) => w.envs[ref.split(':')[0]].tags[Number(ref.split(':')[1])]
  for (const [a, b] of shareDigest) {
    shared.set(tagOf(a), tagOf(a))
    shared.set(tagOf(b), tagOf(a))
  }

  const byGroup = new Map<string, ImageSpec>()
  for (const tag of Object.values(w.envs).flatMap((e) => e.tags.slice(1))) {
    if (failedTags.has(tag)) continue
    const group = shared.get(tag) ?? tag
    const spec = byGroup.get(group)
    if (spec) spec.tags.push(tag)
    else {
      const image = {layers: [{seed: `layer-${group}`, size: 512}], repository: REPO, tags: [tag]}
      byGroup.set(group, image)
      w.images.push(image)
    }
  }
}

export interface Running {
  db: string
  env: Record<string, string>
  registry: RegistryHandle
}

/** A fresh registry with the world's images, a fresh database with its documents, and drc's environment. */
export async function startWorld(w: World, pluginEnv: Record<string, string>, prefix: string): Promise<Running> {
  const registry = await startRegistry()
  await pushImages(testClient(registry.url), w.images)
  const db = `${prefix}_${randomUUID().slice(0, 8)}`
  const {MongoClient} = await import('mongodb')
  const client = await MongoClient.connect(services().mongo.uri)
  try {
    const database = client.db(db)
    for (const [name, docs] of Object.entries(w.collections)) {
      // eslint-disable-next-line no-await-in-loop -- a handful of collections
      await database.createCollection(name)
      // eslint-disable-next-line no-await-in-loop
      if (docs.length > 0) await database.collection(name).insertMany(docs.map((d) => ({...d})))
    }
  } finally {
    await client.close()
  }

  const outputDir = mkdtempSync(path.join(tmpdir(), `drc-${prefix}-`))
  const file = path.join(outputDir, 'drc.yaml')
  writeFileSync(file, `s3:\n  prefix: ${prefix}-${randomUUID()}\n`)
  const {s3} = services()
  const env = {
    ...pluginEnv,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    CONFIG_FILE: file,
    DRC_MONGO_URI: services().mongo.uri,
    DRC_REGISTRY_IN_CLUSTER: 'false',
    DRC_S3_ENDPOINT: s3.endpoint,
    MONGODB_DB: db,
    OUTPUT_DIR: outputDir,
    REGISTRY_URL: registry.url,
    REPOSITORY: 'dominodatalab',
    S3_BUCKET: s3.bucket,
    S3_REGION: s3.region,
  }
  return {db, env, registry}
}

export async function mongoIds(db: string, collection: string): Promise<string[]> {
  const {MongoClient} = await import('mongodb')
  const client = await MongoClient.connect(services().mongo.uri)
  try {
    const docs = await client
      .db(db)
      .collection(collection)
      .find({}, {projection: {_id: 1}})
      .toArray()
    return docs.map((d) => String(d._id)).sort()
  } finally {
    await client.close()
  }
}

export const presentTags = async (registry: RegistryHandle) => (await testClient(registry.url).listTags(REPO)).sort()
