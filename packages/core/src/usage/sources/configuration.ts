import type {Document} from 'mongodb'

import type {CollectionName} from '../reader.js'
import type {EnvContext} from './context.js'
import type {EnvironmentTagIndex} from './tag-index.js'

import {specFilter} from '../ids.js'
import {hexOf, parseRevisionSpec} from '../tags.js'

/** Settings that name an environment: they protect its revision whatever its age. */
export interface ConfigurationSources {
  apps: Document[]
  /** model_products ids that are archived: their app versions protect nothing. */
  archivedProducts: Set<string>
  jobs: Document[]
  orgs: Document[]
  prefs: Document[]
}

/** Where a setting that names an environment lives. */
interface ConfigQuery {
  /** More ways a scoped build finds a document that can name a revision of the scope (a pin, a revision id). */
  alsoScoped?: Document[]
  /** The field that names the environment. */
  field: string
  name: CollectionName
  projection: Document
}

/** Every document of `name` whose `field` names an environment (of the scope, when scoped). */
async function configDocs(ctx: EnvContext, {alsoScoped = [], field, name, projection}: ConfigQuery) {
  const docs: Document[] = []
  if (!ctx.touched) return docs
  const filter = ctx.scoped
    ? {$or: [ctx.idFilter(field, ctx.envIds), ...alsoScoped], [field]: {$exists: true}}
    : {[field]: {$exists: true}}
  for await (const d of ctx.reader.find(name, filter, projection)) docs.push(d)
  return docs
}

export async function readConfiguration(ctx: EnvContext): Promise<ConfigurationSources> {
  const jobs = await configDocs(ctx, {
    alsoScoped: [
      specFilter('jobDataPlain.overrideEnvironmentRevisionSpec', ctx.revIds),
      specFilter('jobDataPlain.environmentRevisionSpec', ctx.revIds),
    ],
    field: 'jobDataPlain.overrideEnvironmentId',
    name: 'scheduler_jobs',
    projection: {jobDataPlain: 1, jobName: 1, projectId: 1},
  })
  const orgs = await configDocs(ctx, {
    field: 'defaultV2EnvironmentId',
    name: 'organizations',
    projection: {defaultV2EnvironmentId: 1, name: 1},
  })
  const apps = await configDocs(ctx, {
    alsoScoped: [ctx.idFilter('environmentRevisionId', ctx.revIds)],
    field: 'environmentId',
    name: 'app_versions',
    projection: {appId: 1, environmentId: 1, environmentRevisionId: 1, versionNumber: 1},
  })
  const archivedProducts = await readArchivedProducts(ctx, apps)
  const prefs = await configDocs(ctx, {
    field: 'defaultEnvironmentId',
    name: 'userPreferences',
    projection: {defaultEnvironmentId: 1, userId: 1},
  })
  return {apps, archivedProducts, jobs, orgs, prefs}
}

async function readArchivedProducts(ctx: EnvContext, apps: Document[]): Promise<Set<string>> {
  const archived = new Set<string>()
  if (apps.length === 0) return archived
  const appIds = apps.map((a) => hexOf(a.appId)).filter((x): x is string => x !== null)
  for await (const d of ctx.reader.find(
    'model_products',
    {...ctx.idFilter('_id', appIds), isArchived: true},
    {_id: 1},
  )) {
    const id = hexOf(d._id)
    if (id) archived.add(id)
  }

  return archived
}

export function addConfiguration(index: EnvironmentTagIndex, c: ConfigurationSources): void {
  for (const j of c.jobs) {
    const envId = hexOf(j.jobDataPlain?.overrideEnvironmentId)
    const spec = j.jobDataPlain?.overrideEnvironmentRevisionSpec ?? j.jobDataPlain?.environmentRevisionSpec
    index.add(index.resolve(envId, parseRevisionSpec(spec)), {
      id: hexOf(j._id) ?? '',
      kind: 'scheduler_job',
      lastUsed: null,
      name: j.jobName,
      projectId: hexOf(j.projectId) ?? undefined,
    })
  }

  for (const o of c.orgs) {
    index.add(index.active(hexOf(o.defaultV2EnvironmentId)), {
      id: hexOf(o._id) ?? '',
      kind: 'organization',
      lastUsed: null,
      name: o.name,
    })
  }

  for (const a of c.apps) {
    // Only apps whose product is not archived keep their environment (domain-spec §1.2 model_products).
    if (c.archivedProducts.has(hexOf(a.appId) ?? '')) continue
    index.add(hexOf(a.environmentRevisionId) ?? index.active(hexOf(a.environmentId)), {
      detail: a.versionNumber === undefined ? undefined : `version ${a.versionNumber}`,
      id: hexOf(a._id) ?? '',
      kind: 'app_version',
      lastUsed: null,
      projectId: hexOf(a.appId) ?? undefined,
    })
  }

  for (const p of c.prefs) {
    index.add(index.active(hexOf(p.defaultEnvironmentId)), {
      id: hexOf(p._id) ?? '',
      kind: 'user_preference',
      lastUsed: null,
      ownerId: hexOf(p.userId) ?? undefined,
    })
  }
}
