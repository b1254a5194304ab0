import type {Document} from 'mongodb'

import type {UsageScope} from '../build.js'
import type {UsageReader} from '../reader.js'

import {idFilter} from '../ids.js'

/** What every source read needs: the reader, the id matcher and the scope of the build. */
export interface ReadContext {
  /** A filter matching documents whose `field` holds one of the ids in any accepted shape (see ../ids.ts). */
  idFilter(field: string, ids: Iterable<string>): Document
  reader: UsageReader
  /** True when the build is restricted to some environments / models (the live re-check). */
  scoped: boolean
  scopeEnvs: string[]
  scopeModels: string[]
  /** Model image tags whose verdict the scoped build must get right (versions are found by their slug tag too). */
  scopeModelTags: string[]
  /** Revisions whose verdict the scoped build must get right (found by tag; they may lack an environment). */
  scopeRevs: string[]
}

/** The read context once environments and revisions are known: the ids the later sources are matched against. */
export interface EnvContext extends ReadContext {
  envIds: string[]
  revIds: string[]
  /** False when a scoped build names no environment: the environment sources need not be read at all. */
  touched: boolean
}

export async function readContext(reader: UsageReader, scope: undefined | UsageScope): Promise<ReadContext> {
  const {ObjectId} = await import('mongodb')
  return {
    idFilter: (field, ids) => idFilter(ObjectId, field, ids),
    reader,
    scoped: Boolean(scope),
    scopeEnvs: scope?.environmentIds ?? [],
    scopeModels: scope?.modelIds ?? [],
    scopeModelTags: scope?.modelTags ?? [],
    scopeRevs: scope?.revisionIds ?? [],
  }
}

/** `envIdsRead`: for a scoped build, the environments it read in full (the scope's and those found on the way). */
export function envContext(ctx: ReadContext, envIdsRead: Iterable<string>, revIds: Iterable<string>): EnvContext {
  const envIds = [...envIdsRead]
  const list = [...revIds]
  return {...ctx, envIds, revIds: list, touched: !ctx.scoped || envIds.length > 0 || list.length > 0}
}
