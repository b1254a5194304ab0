import type {Document} from 'mongodb'

import type {UsageScope} from '../build.js'
import type {UsageReader} from '../reader.js'

/** What every source read needs: the reader, the id matcher and the scope of the build. */
export interface ReadContext {
  /** A filter value matching any of the ids (as ObjectId or as hex string). */
  anyOf(ids: Iterable<string>): Document
  reader: UsageReader
  /** True when the build is restricted to some environments / models (the live re-check). */
  scoped: boolean
  scopeEnvs: string[]
  scopeModels: string[]
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
    // Ids are ObjectIds in Domino; matching the hex string too costs nothing and tolerates string-typed copies.
    anyOf(ids) {
      const list = [...new Set(ids)]
      return {$in: [...list.map((id) => ObjectId.createFromHexString(id)), ...list]}
    },
    reader,
    scoped: Boolean(scope),
    scopeEnvs: scope?.environmentIds ?? [],
    scopeModels: scope?.modelIds ?? [],
  }
}

export function envContext(ctx: ReadContext, envIdsRead: Iterable<string>, revIds: Iterable<string>): EnvContext {
  const envIds = ctx.scoped ? ctx.scopeEnvs : [...envIdsRead]
  return {...ctx, envIds, revIds: [...revIds], touched: !ctx.scoped || envIds.length > 0}
}
