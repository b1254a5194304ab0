import type {Db} from 'mongodb'

import type {ImageType, TagUsage, UsageRules, Verdict} from './types.js'

import {buildUsageGraph, type UsageScope} from './build.js'
import {leadingObjectId} from './object-ids.js'
import {UsageReader} from './reader.js'
import {hexOf, modelIdOfTag} from './tags.js'

export interface ImageRef {
  imageType: ImageType
  tag: string
}

/** Parses `environment:<tag>` / `model:<tag>` (also accepts `<repo>/environment:<tag>`). */
export function parseImageRef(ref: ImageRef | string): ImageRef {
  if (typeof ref !== 'string') return ref
  const m = /^(?:.*\/)?(environment|model):(.+)$/.exec(ref)
  if (!m) throw new Error(`'${ref}' is not an image reference of the form environment:<tag> or model:<tag>`)
  return {imageType: m[1] as ImageType, tag: m[2]}
}

/**
 * The live re-check the deletion lifecycle runs right before each delete: targeted queries for the one
 * environment (or model) the tag belongs to, through the same rules as the full graph. Throws
 * UsageSourceError when a source cannot be read (never answers "unused" on missing data).
 */
export async function isInUse(
  db: Db,
  ref: ImageRef | string,
  rules: UsageRules,
): Promise<Verdict & {usage?: TagUsage}> {
  const image = parseImageRef(ref)
  const scope = await scopeOf(db, image)
  const graph = await buildUsageGraph(db, {now: rules.now, scope})
  return graph.evaluate(image.imageType, image.tag, rules)
}

/**
 * The batched form of {@link isInUse} for the deletion lifecycle: one scoped graph build over the union of every
 * image's scope (environments, revisions, models), then the same predicate per image. A scope read in full for one
 * image only adds documents for another, never removes any, so each verdict equals its own isInUse verdict.
 */
export async function areInUse(
  db: Db,
  refs: ReadonlyArray<ImageRef | string>,
  rules: UsageRules,
): Promise<Array<Verdict & {usage?: TagUsage}>> {
  const images = refs.map((r) => parseImageRef(r))
  const graph = await buildUsageGraph(db, {now: rules.now, scope: await unionScope(db, images)})
  return images.map((image) => graph.evaluate(image.imageType, image.tag, rules))
}

/** The union of the images' scopes (as scopeOf builds each), the environment tags looked up in one query. */
async function unionScope(db: Db, images: ImageRef[]): Promise<UsageScope> {
  const envIds = new Set<string>()
  const revisionIds = new Set<string>()
  const modelIds = new Set<string>()
  const modelTags = new Set<string>()
  const envTags: string[] = []
  for (const image of images) {
    const lead = leadingObjectId(image.tag)
    if (image.imageType === 'model') {
      const modelId = modelIdOfTag(image.tag) ?? lead
      if (modelId) modelIds.add(modelId)
      modelTags.add(image.tag)
    } else {
      envTags.push(image.tag)
      if (lead) envIds.add(lead)
    }
  }

  if (envTags.length > 0) {
    const reader = new UsageReader(db)
    await reader.init()
    for await (const d of reader.find(
      'environment_revisions',
      {'metadata.dockerImageName.tag': {$in: envTags}},
      {environmentId: 1},
    )) {
      const rev = hexOf(d._id)
      if (rev) revisionIds.add(rev)
      const env = hexOf(d.environmentId)
      if (env) envIds.add(env)
    }
  }

  return {
    environmentIds: [...envIds],
    modelIds: [...modelIds],
    modelTags: [...modelTags],
    revisionIds: [...revisionIds],
  }
}

async function scopeOf(db: Db, image: ImageRef): Promise<UsageScope> {
  if (image.imageType === 'model') {
    const modelId = modelIdOfTag(image.tag) ?? leadingObjectId(image.tag)
    return {modelIds: modelId ? [modelId] : [], modelTags: [image.tag]}
  }

  // Every revision bearing the tag (the graph files them all under it), and the environments that own them;
  // legacy tags may start with an environment id.
  const reader = new UsageReader(db)
  await reader.init()
  const envIds = new Set<string>()
  const revisionIds = new Set<string>()
  for await (const d of reader.find(
    'environment_revisions',
    {'metadata.dockerImageName.tag': image.tag},
    {environmentId: 1},
  )) {
    const rev = hexOf(d._id)
    if (rev) revisionIds.add(rev)
    const env = hexOf(d.environmentId)
    if (env) envIds.add(env)
  }

  const lead = leadingObjectId(image.tag)
  if (lead) envIds.add(lead)
  return {environmentIds: [...envIds], revisionIds: [...revisionIds]}
}
