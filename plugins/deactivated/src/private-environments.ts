import type {Db} from 'mongodb'

import {
  archiveEnvironmentUpdate,
  buildUsageGraph,
  type Candidate,
  evaluateUsage,
  hexOf,
  loadIdFilter,
  type UsageGraph,
  type UsageRules,
} from '@drc/core'

import type {DeactivatedUser} from './users.js'

interface Revision {
  id: string
  repository: string
  tag: string
}

export interface KeptEnvironment {
  environmentId: string
  name: string
  owner: string
  reasons: string[]
}

export interface PrivateEnvironmentsPlan {
  candidates: Candidate[]
  kept: KeptEnvironment[]
}

/** The tagged revisions of the environments, by environment id (streamed, projected). */
async function revisionsOf(db: Db, envIds: string[], defaultRepository: string): Promise<Map<string, Revision[]>> {
  const out = new Map<string, Revision[]>()
  if (envIds.length === 0) return out
  const idFilter = await loadIdFilter()
  const cursor = db
    .collection('environment_revisions')
    .find(idFilter('environmentId', envIds), {projection: {_id: 1, environmentId: 1, 'metadata.dockerImageName': 1}})
  for await (const r of cursor) {
    const env = hexOf(r.environmentId)
    const id = hexOf(r._id)
    const image = r.metadata?.dockerImageName as undefined | {repository?: unknown; tag?: unknown}
    if (!env || !id || typeof image?.tag !== 'string' || image.tag === '') continue
    const repository = typeof image.repository === 'string' && image.repository ? image.repository : defaultRepository
    out.set(env, [...(out.get(env) ?? []), {id, repository, tag: image.tag}])
  }

  return out
}

/**
 * Why a whole environment stays (empty: nothing uses it). The unit is the environment, as for unused
 * environments: any use of any of its revision images keeps all of them, and being the active revision is no use
 * of its own (activeRevisionKeeps: false; a whole environment goes active revision included). What names the
 * environment itself (project, organization, user default...) is attributed by the usage graph to the active
 * revision's tag: when that is not one of its tagged revisions, the use cannot be seen, so the environment stays.
 */
export function environmentUse(
  graph: UsageGraph,
  env: {activeRevisionId: null | string},
  revisions: Revision[],
  rules: UsageRules,
): string[] {
  if (revisions.length > 0 && !revisions.some((r) => r.id === env.activeRevisionId))
    return [`its active revision ${env.activeRevisionId ?? '(none)'} is not one of its tagged revisions`]
  const reasons: string[] = []
  for (const r of revisions) {
    const verdict = evaluateUsage(graph.lookup('environment', r.tag), {...rules, activeRevisionKeeps: false})
    if (verdict.inUse) reasons.push(`${r.tag}: ${verdict.reasons.join('; ')}`)
  }

  return reasons
}

/**
 * The candidates of the deactivated strategy: every revision image of every private environment of a deactivated
 * user that nothing uses (whole environments); environments in use are kept with the reasons.
 */
export async function planPrivateEnvironments(
  db: Db,
  users: DeactivatedUser[],
  opts: {archive?: boolean; defaultRepository: string; rules: UsageRules},
): Promise<PrivateEnvironmentsPlan> {
  const envs = users.flatMap((u) => u.privateEnvironments.map((e) => ({...e, user: u})))
  const revisions = await revisionsOf(
    db,
    envs.map((e) => e.id),
    opts.defaultRepository,
  )
  const plan: PrivateEnvironmentsPlan = {candidates: [], kept: []}
  if (envs.length === 0) return plan
  const graph = await buildUsageGraph(db, {now: opts.rules.now})
  for (const e of envs) {
    const revs = revisions.get(e.id) ?? []
    const owner = `${e.user.email ?? e.user.username} (${e.user.dominoUserId})`
    const reasons = environmentUse(graph, e, revs, opts.rules)
    if (reasons.length > 0) {
      plan.kept.push({environmentId: e.id, name: e.name, owner, reasons})
      continue
    }

    const reason = `private environment ${e.id} "${e.name}" of deactivated user ${owner}, unused`
    // --archive: an archived one stays as it is; another is archived once every one of its images is gone.
    const archive =
      opts.archive && !e.archived ? [archiveEnvironmentUpdate(e.id, `--archive: every image of ${reason} deleted`)] : []
    for (const r of revs)
      plan.candidates.push({
        mongo: [
          {collection: 'environment_revisions', id: r.id},
          {collection: 'environments_v2', id: e.id},
        ],
        ...(archive.length > 0 ? {mongoUpdates: archive} : {}),
        reason,
        repository: r.repository,
        tag: r.tag,
      })
  }

  return plan
}
