import type {Db} from 'mongodb'

import {
  buildUsageGraph,
  type DrcConfig,
  DrcError,
  ExitCode,
  type KeptRecord,
  type MongoChange,
  type MongoRecordCollection,
  type PlannedRemoval,
  type UsageRules,
} from '@drc/core'

import {activeRevisionIds} from './keep.js'
import {type ImageReference, imageReferences} from './references.js'
import {
  listRepositories,
  modelTagPresent,
  registryHost,
  type RepositoryListing,
  repositoryOf,
} from './registry-listing.js'

/** The references of one document, each with the repository it lives in (null: on another registry). */
export interface DocumentRefs {
  collection: MongoRecordCollection
  id: string
  refs: Array<ImageReference & {registryRepository: null | string}>
}

export interface MissingOptions {
  /** Repositories the operator says are really gone: their empty listing and missing share are accepted. */
  allowMissingRepositories: readonly string[]
  /** The largest share (percent) of a repository's references that may be missing; more refuses the run. */
  maxMissingPercent: number
  now: Date
  /** The MongoDB references to check; default: all of environment revisions and model versions. */
  only?: MongoRecordCollection
}

const key = (collection: string, id: string) => `${collection}/${id}`

/** Every document that names an image, with its references grouped (a model version has one per build). */
export async function documentReferences(db: Db, config: DrcConfig, only?: MongoRecordCollection) {
  const docs = new Map<string, DocumentRefs>()
  const base = config.registry.repository
  for await (const ref of imageReferences(db)) {
    if (only && ref.collection !== only) continue
    const fallback = `${base}/${ref.collection === 'model_versions' ? 'model' : 'environment'}`
    const doc = docs.get(key(ref.collection, ref.documentId)) ?? {
      collection: ref.collection,
      id: ref.documentId,
      refs: [],
    }
    doc.refs.push({...ref, registryRepository: repositoryOf(config, ref.repository, fallback)})
    docs.set(key(ref.collection, ref.documentId), doc)
  }

  return [...docs.values()]
}

/** Whether the image a reference names is in the listing (model tags match by prefix, see modelTagPresent). */
export function present(ref: DocumentRefs['refs'][number], listings: ReadonlyMap<string, RepositoryListing>): boolean {
  const tags = listings.get(ref.registryRepository!)?.tags ?? new Set<string>()
  return ref.collection === 'model_versions' ? modelTagPresent(tags, ref.tag) : tags.has(ref.tag)
}

/**
 * The rule of README "When the registry listing is not trusted": a repository MongoDB names that the registry
 * lists as empty (or does not know), or one with more than maxMissingPercent of its references missing, refuses
 * the whole run (exit 3, nothing removed) unless the operator names it in --allow-missing-repository.
 */
function refusals(docs: DocumentRefs[], listings: Map<string, RepositoryListing>, opts: MissingOptions, host: string) {
  const counts = new Map<string, {missing: number; total: number}>()
  for (const d of docs)
    for (const r of d.refs) {
      if (!r.registryRepository) continue
      const c = counts.get(r.registryRepository) ?? {missing: 0, total: 0}
      c.total++
      if (!present(r, listings)) c.missing++
      counts.set(r.registryRepository, c)
    }

  const out: string[] = []
  for (const [repository, {missing, total}] of counts) {
    if (opts.allowMissingRepositories.includes(repository)) continue
    const listing = listings.get(repository)!
    if (listing.tags.size === 0)
      out.push(
        `registry ${host} lists ${listing.unknown ? 'no repository' : 'no tags in'} ${repository} while MongoDB has ${total} references to it`,
      )
    else if ((missing * 100) / total > opts.maxMissingPercent)
      out.push(
        `${missing} of ${total} references to ${repository} (${Math.round((missing * 100) / total)}%) are not in registry ${host}, more than --max-missing-percent ${opts.maxMissingPercent}`,
      )
  }

  return out
}

/**
 * The documents whose every image is missing from a fresh listing of the registry, minus those that must stay:
 * active revisions, and records in use by the usage predicate with runs counted over the grace window (usage of
 * unknown age, configuration usage and fresh records always count). Refuses (exit 3) on an untrusted listing.
 */
export async function planMissing(
  db: Db,
  config: DrcConfig,
  opts: MissingOptions,
): Promise<MongoChange & {docs: Map<string, DocumentRefs>}> {
  const docs = await documentReferences(db, config, opts.only)
  const repositories = new Set(docs.flatMap((d) => d.refs.map((r) => r.registryRepository).filter((r) => r !== null)))
  const listings = await listRepositories(config, repositories)
  const host = registryHost(config)
  const refused = refusals(docs, listings, opts, host)
  if (refused.length > 0)
    throw new DrcError(`refused, nothing was removed: ${refused.join('; ')}`, {
      exitCode: ExitCode.PREFLIGHT_REFUSED,
      suggestions: [
        'an empty or mostly missing listing usually means the wrong registry.url / registry.repository, or a registry being restored',
        'if the images are really gone: --allow-missing-repository <repository> (repeatable), or raise --max-missing-percent',
      ],
    })

  const grace = config.usage.grace_period_days
  const rules: UsageRules = {gracePeriodDays: grace, now: opts.now, unusedSinceDays: grace}
  const [usage, active] = await Promise.all([buildUsageGraph(db, {now: opts.now}), activeRevisionIds(db)])
  const removals: PlannedRemoval[] = []
  const kept: KeptRecord[] = []
  const planned = new Map<string, DocumentRefs>()
  for (const d of docs) {
    const stay = (reason: string) => kept.push({collection: d.collection, id: d.id, reason})
    if (d.refs.some((r) => r.registryRepository === null)) {
      stay('its image is on another registry than registry.url: not checked')
      continue
    }

    if (d.refs.some((r) => present(r, listings))) continue
    if (d.collection === 'environment_revisions' && active.has(d.id)) {
      stay(`image missing, but it is the active revision of environment ${active.get(d.id)}`)
      continue
    }

    const type = d.collection === 'model_versions' ? 'model' : 'environment'
    const inUse = d.refs.map((r) => usage.evaluate(type, r.tag, rules)).find((v) => v.inUse)
    if (inUse) {
      stay(`image missing, but in use: ${inUse.reasons.join('; ')}`)
      continue
    }

    const images = d.refs.map((r) => `${r.registryRepository}:${r.tag}`).join(', ')
    removals.push({collection: d.collection, id: d.id, reason: `image ${images} not in registry ${host}`})
    planned.set(key(d.collection, d.id), d)
  }

  return {docs: planned, kept, removals}
}

/**
 * Right before the removal: a fresh listing again (a failure refuses, exit 3); a record whose image is back in
 * the registry now stays.
 */
export async function recheckMissing(
  config: DrcConfig,
  docs: ReadonlyMap<string, DocumentRefs>,
  removals: readonly PlannedRemoval[],
): Promise<Map<string, string>> {
  const planned = removals.map((r) => docs.get(key(r.collection, r.id))).filter((d) => d !== undefined)
  const repositories = new Set(planned.flatMap((d) => d.refs.map((r) => r.registryRepository!)))
  const listings = await listRepositories(config, repositories)
  const stay = new Map<string, string>()
  for (const d of planned) {
    const back = d.refs.find((r) => present(r, listings))
    if (back)
      stay.set(key(d.collection, d.id), `its image ${back.registryRepository}:${back.tag} is in the registry again`)
  }

  return stay
}
