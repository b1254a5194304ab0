import type {Document} from 'mongodb'

import type {TagUsage, UsageSource} from '../types.js'
import type {ReadContext} from './context.js'
import type {EnvironmentTagIndex} from './tag-index.js'

import {hexOf, modelTagKey, objectIdTime} from '../tags.js'
import {parseTimestamp} from '../timestamps.js'
import {owner} from './owners.js'

/** Model versions, their models, failed builds and the latest completed deployment saga per version. */
export interface ModelSources {
  failedBuilds: Set<string>
  models: Map<string, Document>
  sagaLatest: Map<string, {deployed: boolean; started: Date}>
  versions: Document[]
}

const SAGA_NAMES = ['ModelVersionDeployment', 'StartModelVersion', 'StopModelVersion']
const SAGA_STATES = new Set(['slug-build-succeeded', 'succeeded'])

/** Reads the model sources; a scoped build reads the versions of the scope's revisions and models. */
export async function readModels(ctx: ReadContext, revIds: string[]): Promise<ModelSources> {
  const sources: ModelSources = {failedBuilds: new Set(), models: new Map(), sagaLatest: new Map(), versions: []}
  if (!ctx.scoped || revIds.length > 0 || ctx.scopeModels.length > 0 || ctx.scopeModelTags.length > 0) {
    sources.versions = await readVersions(ctx, revIds)
    sources.models = await readModelDocs(ctx, sources.versions)
  }

  if (sources.versions.length > 0) {
    sources.failedBuilds = await readFailedBuilds(ctx, sources.versions)
    sources.sagaLatest = await readSagas(ctx, sources.versions)
  }

  return sources
}

async function readVersions(ctx: ReadContext, revIds: string[]): Promise<Document[]> {
  const {idFilter, scopeModels, scopeModelTags} = ctx
  let filter: Document = {}
  if (ctx.scoped) {
    // The graph keys a model image by its slug tag, whatever the version's modelId says: find by tag too.
    const or: Document[] = [idFilter('environmentRevisionId', revIds), idFilter('modelId', scopeModels)]
    for (const tag of scopeModelTags) or.push(...slugTagFilters(tag))
    filter = {$or: or}
  }

  const versions: Document[] = []
  for await (const d of ctx.reader.find('model_versions', filter, {
    environmentRevisionId: 1,
    'metadata.builds': 1,
    'metadata.createdBy': 1,
    modelId: 1,
  })) {
    versions.push(d)
  }

  return versions
}

async function readModelDocs(ctx: ReadContext, versions: Document[]): Promise<Map<string, Document>> {
  const modelIds = new Set(ctx.scopeModels)
  for (const v of versions) {
    const m = hexOf(v.modelId)
    if (m) modelIds.add(m)
  }

  const models = new Map<string, Document>()
  const filter = ctx.scoped ? ctx.idFilter('_id', modelIds) : {}
  for await (const d of ctx.reader.find('models', filter, {
    collaboratorSettings: 1,
    isArchived: 1,
    'metadata.createdBy': 1,
    name: 1,
  })) {
    const id = hexOf(d._id)
    if (id) models.set(id, d)
  }

  return models
}

async function readFailedBuilds(ctx: ReadContext, versions: Document[]): Promise<Set<string>> {
  const failed = new Set<string>()
  const buildIds = ctx.scoped ? versions.flatMap((v) => buildsOf(v).flatMap((b) => buildIdsOf(b))) : []
  const filter = ctx.scoped ? {...ctx.idFilter('_id', buildIds), status: 'Failed'} : {status: 'Failed'}
  for await (const d of ctx.reader.find('builds', filter, {_id: 1})) {
    const id = hexOf(d._id)
    if (id) failed.add(id)
  }

  return failed
}

async function readSagas(
  ctx: ReadContext,
  versions: Document[],
): Promise<Map<string, {deployed: boolean; started: Date}>> {
  const latest = new Map<string, {deployed: boolean; started: Date}>()
  const versionIds = versions.map((v) => hexOf(v._id)).filter((x): x is string => x !== null)
  const base: Document = {isCompleted: true, sagaName: {$in: SAGA_NAMES}}
  const filter = ctx.scoped ? {...base, ...ctx.idFilter('parameters.modelVersionId', versionIds)} : base
  for await (const d of ctx.reader.find('sagas', filter, {
    'parameters.modelVersionId': 1,
    sagaName: 1,
    started: 1,
    state: 1,
  })) {
    const v = hexOf(d.parameters?.modelVersionId)
    const started = parseTimestamp(d.started)
    if (!v || !started || !SAGA_STATES.has(d.state)) continue
    const prev = latest.get(v)
    if (!prev || started > prev.started) latest.set(v, {deployed: d.sagaName === 'StartModelVersion', started})
  }

  return latest
}

/**
 * One TagUsage per model version image; a version also uses its environment revision (added to `index`).
 * Keyed by model version key `<modelId>-vN` (or the stored tag when it has another form).
 */
export function modelTags(index: EnvironmentTagIndex, sources: ModelSources): Map<string, TagUsage> {
  const tags = new Map<string, TagUsage>()
  for (const v of sources.versions) {
    const versionId = hexOf(v._id)
    if (!versionId) continue
    const modelId = hexOf(v.modelId)
    const model = modelId ? sources.models.get(modelId) : undefined
    const archived = model?.isArchived === true
    const source = versionSource(v, versionId, model, sources.sagaLatest.get(versionId))
    // Versions of archived models protect nothing; a version whose model is gone is kept (unknown ≠ unused).
    if (!archived) index.add(hexOf(v.environmentRevisionId), source)
    for (const b of buildsOf(v)) {
      const image = b?.slug?.image
      if (typeof image?.tag !== 'string' || image.tag === '') continue
      const key = modelTagKey(image.tag) ?? image.tag
      let u = tags.get(key)
      if (!u) {
        u = modelTag(key, image, {archived, model, modelId, version: v, versionId})
        tags.set(key, u)
      }

      const failed = buildIdsOf(b).some((id) => sources.failedBuilds.has(id))
      if (!archived && !failed && !u.sources.some((s) => s.id === versionId)) u.sources.push(source)
    }
  }

  return tags
}

interface VersionInfo {
  archived: boolean
  model: Document | undefined
  modelId: null | string
  version: Document
  versionId: string
}

/** The tag of a version's image, first seen at this version. */
function modelTag(key: string, image: Document, v: VersionInfo): TagUsage {
  return {
    archived: v.archived,
    createdAt: objectIdTime(v.versionId),
    imageType: 'model',
    matchKey: key,
    modelId: v.modelId ?? undefined,
    modelVersionId: v.versionId,
    name: v.model?.name,
    // The model's Owner collaborator (else its creator) owns every version's image; the version's
    // creator only when the model document is gone.
    owner: owner(modelOwner(v.model) ?? hexOf(v.version.metadata?.createdBy)),
    repository: typeof image.repository === 'string' ? image.repository : '',
    sources: [],
    tag: image.tag,
  }
}

function versionSource(
  version: Document,
  versionId: string,
  model: Document | undefined,
  saga: undefined | {deployed: boolean; started: Date},
): UsageSource {
  const modelId = hexOf(version.modelId)
  return {
    detail: model ? (saga?.deployed ? 'deployed' : undefined) : 'model document missing',
    id: versionId,
    kind: 'model_version',
    lastUsed: saga?.started ?? null,
    name: model?.name,
    ownerId: hexOf(version.metadata?.createdBy) ?? undefined,
    projectId: modelId ?? undefined,
  }
}

function modelOwner(model: Document | undefined): null | string {
  const owners = Array.isArray(model?.collaboratorSettings) ? model.collaboratorSettings : []
  const o = owners.find((c: Document) => c?.role === 'Owner')
  return hexOf(o?.collaboratorId) ?? hexOf(model?.metadata?.createdBy)
}

const SLUG_TAG = 'metadata.builds.slug.image.tag'

/** Filters for the versions whose slug tag the graph would file under `tag` (see modelTagKey and lookup). */
function slugTagFilters(tag: string): Document[] {
  const filters: Document[] = [{[SLUG_TAG]: tag}]
  const m = /^([\da-f]{24})-v(\d+)(?:-.*)?$/i.exec(tag)
  if (m) filters.push({[SLUG_TAG]: {$options: 'i', $regex: `^${m[1]}-v0*${Number(m[2])}(?:-|$)`}})
  return filters
}

/**
 * A version's builds. One build stored as a bare object is read as a list of one: MongoDB's dotted-path queries
 * (the scoped re-check) match it, so the full graph must see it too, or the two would disagree about its image.
 */
function buildsOf(version: Document): Document[] {
  const builds = version.metadata?.builds
  if (Array.isArray(builds)) return builds
  return builds !== null && typeof builds === 'object' ? [builds] : []
}

function buildIdsOf(build: Document): string[] {
  const list = Array.isArray(build?.buildId) ? build.buildId : [build?.buildId]
  return list.map((b: unknown) => hexOf(b)).filter((x: null | string): x is string => x !== null)
}
