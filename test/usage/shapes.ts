/**
 * Usage documents with every id shape the graph accepts (ObjectId, `{value: ObjectId}`, hex of any case,
 * `{value: hex}`) and some it does not (missing, numbers), for the differential test of the live re-check. Ids
 * cross environments on purpose (pins and active revisions naming another environment's revision, revisions
 * without an environment), because a scoped read must never miss what the full graph finds.
 */
import {type Document, ObjectId} from 'mongodb'

import {OPTIONAL_COLLECTIONS, REQUIRED_COLLECTIONS} from '../../packages/core/src/usage/reader.js'

const DAY = 86_400_000

/* eslint-disable no-bitwise -- a seeded PRNG is bit arithmetic */
/** Deterministic pseudo-random numbers (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d_2b_79_f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/* eslint-enable no-bitwise */

export type Shape = 'hexLower' | 'hexMixed' | 'hexUpper' | 'missing' | 'number' | 'oid' | 'wrapHex' | 'wrapOid'
const SHAPES: Shape[] = ['oid', 'oid', 'wrapOid', 'hexLower', 'hexUpper', 'hexMixed', 'wrapHex', 'missing', 'number']

/** `hex` in the given shape; undefined means "leave the field out". */
export function shaped(hex: string, shape: Shape): unknown {
  switch (shape) {
    case 'hexLower': {
      return hex
    }

    case 'hexMixed': {
      return hex.slice(0, 12).toUpperCase() + hex.slice(12)
    }

    case 'hexUpper': {
      return hex.toUpperCase()
    }

    case 'missing': {
      return undefined
    }

    case 'number': {
      return 42
    }

    case 'oid': {
      return ObjectId.createFromHexString(hex)
    }

    case 'wrapHex': {
      return {value: hex.toUpperCase()}
    }

    case 'wrapOid': {
      return {value: ObjectId.createFromHexString(hex)}
    }
  }
}

export type ShapedDataset = Record<string, Document[]>

const id = () => new ObjectId().toHexString()
// Lets a field be left out: Mongo drivers drop undefined values only with ignoreUndefined, so strip them here.
const doc = (d: Document): Document => Object.fromEntries(Object.entries(d).filter(([, v]) => v !== undefined))

/** Documents of every usage source, `now`-relative times: old (−45…−60 d), recent (−1…−10 d), running. */
// eslint-disable-next-line complexity -- one generator for every source keeps the shapes side by side
export function shapedDataset(seed: number, now: Date, environments = 36): ShapedDataset {
  const r = rng(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]
  const chance = (p: number) => r() < p
  const shape = () => pick(SHAPES)
  const ago = (days: number) => new Date(now.getTime() - days * DAY)
  const when = () => (chance(0.5) ? ago(45 + Math.floor(r() * 15)) : ago(1 + Math.floor(r() * 9)))
  const ds: ShapedDataset = {
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
    workspace: [],
    workspace_session: [],
  }
  const envIds: string[] = []
  const revIds: string[] = []
  const revsOf = new Map<string, string[]>()
  for (let e = 0; e < environments; e++) {
    const envId = id()
    envIds.push(envId)
    const revs: string[] = []
    for (let n = 1; n <= 1 + Math.floor(r() * 3); n++) {
      const revId = id()
      revs.push(revId)
      revIds.push(revId)
      ds.environment_revisions.push(
        doc({
          _id: chance(0.1)
            ? shaped(revId, pick(['hexLower', 'hexUpper'] as const))
            : ObjectId.createFromHexString(revId),
          // Some revisions lack their environment (or name it oddly): their tag is still known to the full graph.
          environmentId: shaped(envId, chance(0.8) ? pick(['oid', 'oid', 'wrapOid', 'hexUpper'] as const) : shape()),
          metadata: {dockerImageName: {repository: 'dominodatalab/environment', tag: `${envId}-${n}`}, isBuilt: true},
        }),
      )
    }

    revsOf.set(envId, revs)
  }

  const anyRev = () => pick(revIds)
  for (const envId of envIds) {
    // Mostly its own last revision; sometimes another environment's (inconsistent data must not fool the re-check).
    const active = chance(0.85) ? revsOf.get(envId)!.at(-1)! : anyRev()
    ds.environments_v2.push(
      doc({
        _id: chance(0.1) ? shaped(envId, pick(['hexLower', 'hexUpper'] as const)) : ObjectId.createFromHexString(envId),
        activeRevisionId: shaped(active, chance(0.6) ? 'oid' : shape()),
        isArchived: chance(0.5),
        name: `env-${envId.slice(-4)}`,
      }),
    )
  }

  const spec = () =>
    chance(0.5)
      ? 'ActiveRevision'
      : chance(0.5)
        ? `SomeRevision(${shaped(anyRev(), pick(['hexLower', 'hexUpper'] as const))})`
        : undefined
  const projectIds: string[] = []
  for (let i = 0; i < 25; i++) {
    const pid = id()
    projectIds.push(pid)
    ds.projects.push(
      doc({
        _id: ObjectId.createFromHexString(pid),
        defaultEnvironmentRevisionSpec: spec(),
        isArchived: chance(0.4),
        name: `p${i}`,
        overrideV2EnvironmentId: chance(0.7) ? shaped(pick(envIds), shape()) : undefined,
      }),
    )
  }

  for (let i = 0; i < 220; i++) {
    const completedRun = chance(0.6)
    const started = when()
    ds.runs.push(
      doc({
        _id: new ObjectId(),
        completed: completedRun && chance(0.9) ? new Date(started.getTime() + 3_600_000) : undefined,
        environmentRevisionId: shaped(anyRev(), shape()),
        projectId: shaped(pick(projectIds), 'oid'),
        started: chance(0.95) ? started : undefined,
        status: completedRun
          ? pick(['Succeeded', 'Failed', 'Error', 'Stopped'])
          : pick(['Running', 'Queued', 'Pending']),
        volumeSpecification: {_t: chance(0.85) ? 'RunEphemeralVolumeSpecification' : 'RunReusableVolumeSpecification'},
      }),
    )
  }

  for (let i = 0; i < 30; i++) {
    const wsId = id()
    const state = pick(['Running', 'Stopped', 'Stopped', 'Deleted'])
    ds.workspace.push(
      doc({
        _id: chance(0.85) ? ObjectId.createFromHexString(wsId) : shaped(wsId, pick(['hexLower', 'hexUpper'] as const)),
        configTemplate: doc({
          computeClusterProps: chance(0.3) ? {computeEnvironmentId: shaped(pick(envIds), shape())} : undefined,
          environmentId: chance(0.8) ? shaped(pick(envIds), shape()) : undefined,
          environmentRevisionSpec: spec(),
        }),
        name: `ws${i}`,
        projectId: shaped(pick(projectIds), chance(0.8) ? 'oid' : shape()),
        state,
        stateUpdatedAt: when(),
      }),
    )
    for (let s = 0; s < Math.floor(r() * 3); s++) {
      const startedAt = when()
      ds.workspace_session.push(
        doc({
          _id: new ObjectId(),
          completed: chance(0.5) ? startedAt : undefined,
          computeClusterEnvironmentRevisionId: chance(0.2) ? shaped(anyRev(), shape()) : undefined,
          config: chance(0.3) ? {environmentId: shaped(pick(envIds), shape())} : undefined,
          environmentId: chance(0.3) ? shaped(pick(envIds), shape()) : undefined,
          environmentRevisionId: chance(0.6) ? shaped(anyRev(), shape()) : undefined,
          rawExecutionDisplayStatus: pick(['Running', 'Stopped', 'Stopped', 'Succeeded']),
          started: startedAt,
          workspaceId: shaped(wsId, chance(0.7) ? 'oid' : shape()),
        }),
      )
    }
  }

  for (let i = 0; i < 12; i++) {
    ds.scheduler_jobs.push(
      doc({
        _id: new ObjectId(),
        jobDataPlain: doc({
          overrideEnvironmentId: shaped(pick(envIds), shape()),
          overrideEnvironmentRevisionSpec: spec(),
        }),
        jobName: `job${i}`,
        projectId: new ObjectId(),
      }),
    )
    ds.organizations.push(
      doc({_id: new ObjectId(), defaultV2EnvironmentId: shaped(pick(envIds), shape()), name: `o${i}`}),
    )
    ds.userPreferences.push(
      doc({_id: new ObjectId(), defaultEnvironmentId: shaped(pick(envIds), shape()), userId: new ObjectId()}),
    )
    const product = id()
    ds.model_products.push({_id: ObjectId.createFromHexString(product), isArchived: chance(0.3)})
    ds.app_versions.push(
      doc({
        _id: new ObjectId(),
        appId: shaped(product, chance(0.7) ? 'oid' : shape()),
        environmentId: shaped(pick(envIds), shape()),
        environmentRevisionId: chance(0.4) ? shaped(anyRev(), shape()) : undefined,
        versionNumber: i,
      }),
    )
  }

  for (let i = 0; i < 10; i++) {
    const modelId = id()
    ds.models.push({_id: ObjectId.createFromHexString(modelId), isArchived: chance(0.3), name: `m${i}`})
    for (let v = 1; v <= 2; v++) {
      const tag = chance(0.8) ? `${modelId}-v${v}-20250101_abc${i}` : `custom-model-tag-${i}-${v}`
      ds.model_versions.push(
        doc({
          _id: new ObjectId(),
          environmentRevisionId: shaped(anyRev(), shape()),
          metadata: {
            builds: [{buildId: [{value: new ObjectId()}], slug: {image: {repository: 'dominodatalab/model', tag}}}],
          },
          modelId: shaped(modelId, chance(0.7) ? 'wrapOid' : shape()),
        }),
      )
    }
  }

  return ds
}

/** Replaces the database's contents with `ds` (every usage collection exists, empty or not). */
export async function seedShaped(db: import('mongodb').Db, ds: ShapedDataset): Promise<void> {
  await db.dropDatabase()
  // Every collection drc reads, required and optional, so none is absent.
  for (const name of [...REQUIRED_COLLECTIONS, ...OPTIONAL_COLLECTIONS]) {
    // eslint-disable-next-line no-await-in-loop -- a few collections, created in order
    await db.createCollection(name)
    const docs = ds[name] ?? []
    // eslint-disable-next-line no-await-in-loop -- see above
    if (docs.length > 0) await db.collection(name).insertMany(docs)
  }
}
