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
  environmentId: null | string
  repository: string
  tag: null | string
}

/** Environments and their revisions: the revisions carry the environment image tags. */
export async function readEnvironments(
  ctx: ReadContext,
): Promise<{envs: Map<string, EnvInfo>; revs: Map<string, RevInfo>}> {
  const envs = new Map<string, EnvInfo>()
  const revs = new Map<string, RevInfo>()
  if (ctx.scoped && ctx.scopeEnvs.length === 0) return {envs, revs}
  const envFilter = ctx.scoped ? {_id: ctx.anyOf(ctx.scopeEnvs)} : {}
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

  const revFilter = ctx.scoped ? {environmentId: ctx.anyOf(ctx.scopeEnvs)} : {}
  for await (const d of ctx.reader.find('environment_revisions', revFilter, {
    environmentId: 1,
    'metadata.authorId': 1,
    'metadata.dockerImageName': 1,
  })) {
    const id = hexOf(d._id)
    if (!id) continue
    const image = d.metadata?.dockerImageName
    revs.set(id, {
      authorId: hexOf(d.metadata?.authorId),
      environmentId: hexOf(d.environmentId),
      repository: typeof image?.repository === 'string' ? image.repository : '',
      tag: typeof image?.tag === 'string' && image.tag !== '' ? image.tag : null,
    })
  }

  return {envs, revs}
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
