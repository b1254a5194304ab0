import type {BlobGraph} from '../analysis/graph.js'
import type {DrcConfig} from '../config/types.js'

import {imageOwners, type ImageOwners} from '../usage/join.js'
import {type ObtainedUsage, obtainUsage, type ObtainUsageOptions} from './usage-report.js'

export {userSizes} from '../usage/join.js'
export type {ImageOwners, OwnerSize} from '../usage/join.js'

/** Report `user-size-report`, schema version 2 (owners with id, login and name, from MongoDB). */
export const USER_SIZE = {name: 'user-size-report', version: 2} as const

export interface LoadedOwners {
  /** Owner of every image of `graph` that MongoDB knows, keyed by `repository:tag`. */
  ownersOf(graph: BlobGraph): ImageOwners
  usage: ObtainedUsage
}

/**
 * Owners of registry images from the MongoDB usage graph (a fresh usage report is reused): an environment
 * image belongs to the environment's owner, a model image to the model's Owner collaborator (else its creator).
 * Throws UsageSourceError naming the source when MongoDB cannot be read: no owners are ever invented.
 */
export async function loadImageOwners(config: DrcConfig, opts: ObtainUsageOptions): Promise<LoadedOwners> {
  const usage = await obtainUsage(config, opts)
  return {ownersOf: (graph) => imageOwners(usage.graph, graph), usage}
}
