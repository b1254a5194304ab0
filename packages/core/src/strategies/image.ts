/**
 * `drc image delete` (the predecessor's `delete_image`, domain-spec §3.12) as a deletion strategy: images named
 * on the command line, the images of the ObjectIds of an id file, or the unused images of the latest analysis.
 * Only the candidates are decided here; usage, digest guard, backup and delete are the lifecycle's.
 */
import type {Db} from 'mongodb'

import type {DrcConfig} from '../config/types.js'
import type {Candidate, MongoRecord} from '../lifecycle/types.js'
import type {UsageGraph} from '../usage/graph.js'
import type {ImageType, TagUsage, UsageRules} from '../usage/types.js'

import {UsageError} from '../lib/errors.js'
import {registryBaseUrl} from '../registry/client.js'
import {assertRepository, assertTag} from '../registry/digest.js'
import {imageTypeOf} from '../usage/join.js'
import {leadingObjectId, type ObjectIdKind, readIdFile} from '../usage/object-ids.js'

export interface ImageRef {
  repository: string
  tag: string
}

const FORMS = 'environment:<tag>, model:<tag> or <registry host>/<repository>:<tag>'

/** `host[:port]` as URL.host writes it (lower case, the scheme's default port dropped). */
function hostOf(hostPort: string, scheme: string): string {
  try {
    return new URL(`${scheme}//${hostPort}`).host
  } catch {
    return hostPort.toLowerCase()
  }
}

function checked<T>(ref: string, f: () => T): T {
  try {
    return f()
  } catch (error) {
    throw new UsageError(`'${ref}': ${(error as Error).message}`, [`name an image as ${FORMS}`])
  }
}

/**
 * Parses an image reference of the command line. Unlike the predecessor (domain-spec §6.1.11) nothing is dropped:
 * a full reference keeps its whole repository path, a `host:port` is a host, and the host must be the configured
 * registry's (drc never deletes from a registry it was not configured for). Domino images only.
 */
export function parseImageReference(ref: string, config: Pick<DrcConfig, 'registry'>): ImageRef {
  if (ref.includes('@')) throw new UsageError(`'${ref}': images are deleted by tag, not by digest`, [`use ${FORMS}`])
  const slash = ref.indexOf('/')
  if (slash === -1) {
    const colon = ref.indexOf(':')
    const type = ref.slice(0, colon)
    if (colon === -1 || (type !== 'environment' && type !== 'model'))
      throw new UsageError(`'${ref}' is not an image reference`, [`name an image as ${FORMS}`])
    const tag = checked(ref, () => assertTag(ref.slice(colon + 1), 'tag'))
    return {repository: `${config.registry.repository}/${type}`, tag}
  }

  const host = ref.slice(0, slash)
  const rest = ref.slice(slash + 1)
  const colon = rest.lastIndexOf(':')
  if (!/[.:]/.test(host) && host !== 'localhost')
    throw new UsageError(`'${ref}' names no registry host ('${host}' is a repository path segment)`, [
      `write ${FORMS}, e.g. environment:${colon === -1 ? '<tag>' : rest.slice(colon + 1)}`,
    ])
  const base = new URL(registryBaseUrl(config.registry.url, config.registry.insecure))
  const configured = base.host
  if (hostOf(host, base.protocol) !== configured)
    throw new UsageError(`'${ref}' is on registry ${host}, but the configured registry is ${configured}`, [
      'drc deletes only from the configured registry (registry.url / REGISTRY_URL)',
      `name the image as ${configured}/${rest}, environment:<tag> or model:<tag>`,
    ])
  if (colon === -1 || rest.lastIndexOf('/') > colon)
    throw new UsageError(`'${ref}' has no tag`, [`name an image as ${FORMS}`])
  const repository = checked(ref, () => assertRepository(rest.slice(0, colon), 'repository'))
  const tag = checked(ref, () => assertTag(rest.slice(colon + 1), 'tag'))
  if (!imageTypeOf(repository))
    throw new UsageError(`'${ref}' is not a Domino image: its repository ends neither in /environment nor in /model`, [
      'drc image delete deletes environment and model images, whose usage MongoDB knows',
    ])
  return {repository, tag}
}

/** The records --mongo-cleanup may remove once the image is gone (the core guards the parents). */
export function mongoRecordsOf(u: TagUsage | undefined): MongoRecord[] {
  if (!u) return []
  const pairs: Array<[MongoRecord['collection'], string | undefined]> =
    u.imageType === 'model'
      ? [
          ['model_versions', u.modelVersionId],
          ['models', u.modelId],
        ]
      : [
          ['environment_revisions', u.revisionId],
          ['environments_v2', u.environmentId],
        ]
  return pairs
    .filter((p): p is [MongoRecord['collection'], string] => Boolean(p[1]))
    .map(([collection, id]) => ({collection, id}))
}

export function namedCandidates(refs: readonly string[], config: DrcConfig, usage: UsageGraph): Candidate[] {
  return refs.map((ref) => {
    const {repository, tag} = parseImageReference(ref, config)
    return {
      mongo: mongoRecordsOf(usage.lookup(imageTypeOf(repository)!, tag)),
      reason: `named on the command line (${ref})`,
      repository,
      tag,
    }
  })
}

/** The repository:tag pairs of an image analysis (only Domino images are looked at). */
export interface RegistryImage {
  repository: string
  tags: string[]
}

type IdSets = Record<ObjectIdKind, Set<string>>

/** Which id of the file selects this registry tag, or null. Tags MongoDB does not know match by their leading id. */
function selectedBy(ids: IdSets, type: ImageType, tag: string, u: TagUsage | undefined): null | string {
  const lead = leadingObjectId(tag)
  const hit = (kind: ObjectIdKind, id: null | string | undefined) => (id && ids[kind].has(id) ? `${kind}:${id}` : null)
  if (type === 'environment')
    return (
      hit('environment', u?.environmentId) ??
      hit('environmentRevision', u?.revisionId) ??
      (u ? null : (hit('environment', lead) ?? hit('environmentRevision', lead)))
    )
  return hit('model', u?.modelId) ?? hit('modelVersion', u?.modelVersionId) ?? (u ? null : hit('model', lead))
}

/**
 * The registry images of the ids of a typed ObjectId file (domain-spec §4.7: environment, environment revision,
 * model, model version). A bad line refuses the run (exit 2) naming it; ids that select no image are reported.
 */
export async function inputCandidates(
  file: string,
  images: readonly RegistryImage[],
  usage: UsageGraph,
): Promise<{candidates: Candidate[]; unmatched: string[]}> {
  const byKind = await readIdFile(file)
  const ids = {
    environment: new Set(byKind.environment),
    environmentRevision: new Set(byKind.environmentRevision),
    model: new Set(byKind.model),
    modelVersion: new Set(byKind.modelVersion),
  }
  const all = Object.entries(byKind).flatMap(([k, list]) => list.map((id) => `${k}:${id}`))
  if (all.length === 0)
    throw new UsageError(`ObjectId file ${file} names no ids`, ['write one id per line, e.g. environment:<24 hex>'])
  const used = new Set<string>()
  const candidates: Candidate[] = []
  for (const img of images) {
    const type = imageTypeOf(img.repository)
    if (!type) continue
    for (const tag of img.tags) {
      const u = usage.lookup(type, tag)
      const by = selectedBy(ids, type, tag, u)
      if (!by) continue
      used.add(by)
      candidates.push({mongo: mongoRecordsOf(u), reason: `${by} in ${file}`, repository: img.repository, tag})
    }
  }

  return {candidates, unmatched: all.filter((k) => !used.has(k))}
}

/**
 * The unused images of an analysis: tags MongoDB knows and calls unused under `rules`. A tag MongoDB does not
 * know is never unused (it may be another deployment's); in-use ones are not candidates at all.
 */
export function unusedCandidates(
  images: readonly RegistryImage[],
  usage: UsageGraph,
  rules: UsageRules,
  analysisPath: string,
): Candidate[] {
  const out: Candidate[] = []
  for (const img of images) {
    const type = imageTypeOf(img.repository)
    if (!type) continue
    for (const tag of img.tags) {
      const verdict = usage.evaluate(type, tag, rules)
      if (!verdict.usage || verdict.inUse) continue
      out.push({
        mongo: mongoRecordsOf(verdict.usage),
        reason: `unused (MongoDB), image of the analysis ${analysisPath}`,
        repository: img.repository,
        tag,
      })
    }
  }

  return out
}

export type ImageSelection = {file: string; kind: 'input'} | {kind: 'named'; refs: string[]} | {kind: 'unused'}

/** The candidates of one selection, read-only: the usage graph is read once, the analysis only when needed. */
export async function imageCandidates(
  selection: ImageSelection,
  ctx: {config: DrcConfig; db: Db; log(message: string): void; rules: UsageRules},
): Promise<Candidate[]> {
  const {buildUsageGraph} = await import('../usage/build.js')
  const usage = await buildUsageGraph(ctx.db, {now: ctx.rules.now})
  if (selection.kind === 'named') return namedCandidates(selection.refs, ctx.config, usage)
  const {obtainImageAnalysis} = await import('../reports/obtain.js')
  const analysis = await obtainImageAnalysis(ctx.config, {generate: false, maxAgeHours: 24, quiet: true})
  const {images} = analysis.report
  if (selection.kind === 'unused') {
    const found = unusedCandidates(images, usage, ctx.rules, analysis.path)
    ctx.log(`${found.length} unused images in the analysis ${analysis.path}`)
    return found
  }

  const {candidates, unmatched} = await inputCandidates(selection.file, images, usage)
  if (unmatched.length > 0) ctx.log(`no registry image for ${unmatched.length} id(s): ${unmatched.join(', ')}`)
  return candidates
}
