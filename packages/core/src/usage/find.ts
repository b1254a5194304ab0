import type {Db} from 'mongodb'

import type {UsageRules} from './types.js'

import {DrcError} from '../lib/errors.js'
import {buildUsageGraph} from './build.js'
import {loadIdFilter} from './ids.js'
import {UsageReader} from './reader.js'
import {type TagUsageRecord, usageReport} from './report.js'
import {hexOf} from './tags.js'

export interface EnvironmentUsage {
  clones: Array<{clonedFrom: string; environmentId: null | string; revisionId: string}>
  environment: {
    activeRevisionId: null | string
    archived: boolean
    id: string
    name?: string
    ownerId: null | string
    visibility?: string
  }
  revisions: Array<{isBuilt: boolean; revisionId: string; tag: null | string; usage: null | TagUsageRecord}>
}

/** Everything that uses an environment and each of its revisions (targeted queries, same rules as the graph). */
export async function findEnvironmentUsage(
  db: Db,
  environmentId: string,
  rules: UsageRules,
): Promise<EnvironmentUsage> {
  const idFilter = await loadIdFilter()
  const reader = new UsageReader(db)
  await reader.init()
  let env: import('mongodb').Document | undefined
  for await (const d of reader.find('environments_v2', idFilter('_id', [environmentId]), {
    activeRevisionId: 1,
    isArchived: 1,
    name: 1,
    ownerId: 1,
    visibility: 1,
  }))
    env = d
  if (!env) {
    throw new DrcError(`environment ${environmentId} does not exist in database '${db.databaseName}'`, {
      suggestions: ['check the id (environments_v2._id) and mongo.db'],
    })
  }

  const revisions: EnvironmentUsage['revisions'] = []
  for await (const d of reader.find('environment_revisions', idFilter('environmentId', [environmentId]), {
    environmentId: 1,
    'metadata.dockerImageName.tag': 1,
    'metadata.isBuilt': 1,
  })) {
    // The filter is a superset of the accepted id shapes; hexOf decides, as in the graph.
    if (hexOf(d.environmentId) !== environmentId || !hexOf(d._id)) continue
    revisions.push({
      isBuilt: d.metadata?.isBuilt !== false,
      revisionId: hexOf(d._id) ?? '',
      tag: d.metadata?.dockerImageName?.tag ?? null,
      usage: null,
    })
  }

  const clones: EnvironmentUsage['clones'] = []
  if (revisions.length > 0) {
    const ids = revisions.map((r) => r.revisionId)
    for await (const d of reader.find('environment_revisions', idFilter('clonedEnvironmentRevisionId', ids), {
      clonedEnvironmentRevisionId: 1,
      environmentId: 1,
    })) {
      clones.push({
        clonedFrom: hexOf(d.clonedEnvironmentRevisionId) ?? '',
        environmentId: hexOf(d.environmentId),
        revisionId: hexOf(d._id) ?? '',
      })
    }
  }

  const graph = await buildUsageGraph(db, {
    now: rules.now,
    scope: {environmentIds: [environmentId], revisionIds: revisions.map((r) => r.revisionId)},
  })
  const byTag = new Map(usageReport(graph, rules, db.databaseName).tags.map((t) => [t.tag, t]))
  for (const r of revisions) r.usage = r.tag ? (byTag.get(r.tag) ?? null) : null
  return {
    clones,
    environment: {
      activeRevisionId: hexOf(env.activeRevisionId),
      archived: env.isArchived === true,
      id: environmentId,
      name: env.name,
      ownerId: hexOf(env.ownerId),
      visibility: env.visibility,
    },
    revisions,
  }
}
