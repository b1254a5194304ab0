import type {Document} from 'mongodb'

import type {EnvironmentTagIndex} from './tag-index.js'

import {hexOf} from '../tags.js'
import {type ReadContext} from './context.js'

export interface EnvInfo {
  activeRevisionId: null | string
  archived: boolean
  name?: string
  ownerId: null | string
  visibility?: string
}

export interface RevInfo {
  authorId: null | string
  /** The revision this one was cloned from (`clonedEnvironmentRevisionId`), if any. */
  clonedFrom: null | string
  environmentId: null | string
  repository: string
  tag: null | string
}

export interface EnvironmentsRead {
  /** Environments read in full: for a scoped build, the scope's and those whose active revision is in scope. */
  envIds: string[]
  envs: Map<string, EnvInfo>
  revs: Map<string, RevInfo>
}

const REV_PROJECTION = {
  clonedEnvironmentRevisionId: 1,
  environmentId: 1,
  'metadata.authorId': 1,
  'metadata.dockerImageName': 1,
}

/**
 * Environments and their revisions: the revisions carry the environment image tags. A scoped build also reads
 * the scope's revisions by id (a revision may lack its environment) and the environments whose active revision is
 * one of them (whatever names such an environment then uses that revision).
 */
export async function readEnvironments(ctx: ReadContext): Promise<EnvironmentsRead> {
  const envs = new Map<string, EnvInfo>()
  const revs = new Map<string, RevInfo>()
  const {idFilter, scopeEnvs, scopeRevs} = ctx
  if (ctx.scoped && scopeEnvs.length === 0 && scopeRevs.length === 0) return {envIds: [], envs, revs}
  const envFilter = ctx.scoped ? {$or: [idFilter('_id', scopeEnvs), idFilter('activeRevisionId', scopeRevs)]} : {}
  for await (const d of ctx.reader.find('environments_v2', envFilter, {
    activeRevisionId: 1,
    isArchived: 1,
    name: 1,
    ownerId: 1,
    visibility: 1,
  })) {
    const id = hexOf(d._id)
    if (!id) continue
    envs.set(id, {
      activeRevisionId: hexOf(d.activeRevisionId),
      archived: d.isArchived === true,
      name: typeof d.name === 'string' ? d.name : undefined,
      ownerId: hexOf(d.ownerId),
      visibility: typeof d.visibility === 'string' ? d.visibility : undefined,
    })
  }

  const envIds = ctx.scoped ? [...new Set([...envs.keys(), ...scopeEnvs])] : [...envs.keys()]
  const revFilter = ctx.scoped ? {$or: [idFilter('environmentId', envIds), idFilter('_id', scopeRevs)]} : {}
  for await (const d of ctx.reader.find('environment_revisions', revFilter, REV_PROJECTION)) {
    const id = hexOf(d._id)
    if (id) revs.set(id, revInfo(d))
  }

  return {envIds, envs, revs}
}

export function revInfo(d: Document): RevInfo {
  const image = d.metadata?.dockerImageName
  return {
    authorId: hexOf(d.metadata?.authorId),
    clonedFrom: hexOf(d.clonedEnvironmentRevisionId),
    environmentId: hexOf(d.environmentId),
    repository: typeof image?.repository === 'string' ? image.repository : '',
    tag: typeof image?.tag === 'string' && image.tag !== '' ? image.tag : null,
  }
}

/**
 * Scoped builds only: every revision cloned, directly or through other clones, from one of `revIds` (any
 * environment), so the clone chain rule sees the kept descendants of the scope. Cycles end the walk.
 */
export async function readCloneDescendants(ctx: ReadContext, revIds: Iterable<string>): Promise<Map<string, RevInfo>> {
  const found = new Map<string, RevInfo>()
  const known = new Set(revIds)
  let frontier = [...known]
  while (frontier.length > 0) {
    const next: string[] = []
    // eslint-disable-next-line no-await-in-loop -- one generation of clones at a time
    for await (const d of ctx.reader.find(
      'environment_revisions',
      ctx.idFilter('clonedEnvironmentRevisionId', frontier),
      REV_PROJECTION,
    )) {
      const id = hexOf(d._id)
      if (!id || known.has(id)) continue
      known.add(id)
      found.set(id, revInfo(d))
      next.push(id)
    }

    frontier = next
  }

  return found
}

/** The active revision of every non-archived environment is in use. */
export function addActiveRevisions(index: EnvironmentTagIndex, envs: Map<string, EnvInfo>): void {
  for (const [envId, env] of envs) {
    if (!env.archived && env.activeRevisionId) {
      index.add(env.activeRevisionId, {
        detail: 'active revision',
        id: envId,
        kind: 'active_revision',
        lastUsed: null,
        name: env.name,
      })
    }
  }
}
