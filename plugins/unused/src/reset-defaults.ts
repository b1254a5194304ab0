import type {Db, Document} from 'mongodb'

import {hexOf, loadIdFilter, type PlannedUpdate, type UpdateCollection} from '@drc/core'

export type DefaultScope = 'organization' | 'project' | 'user'

/** Where each scope keeps its default environment (domain-spec §3.15): the field drc unsets. */
export const SCOPES: Record<DefaultScope, {collection: UpdateCollection; field: string; what: string}> = {
  organization: {collection: 'organizations', field: 'defaultV2EnvironmentId', what: 'organization default'},
  project: {collection: 'projects', field: 'overrideV2EnvironmentId', what: 'project default'},
  user: {collection: 'userPreferences', field: 'defaultEnvironmentId', what: 'user preference default'},
}

export interface ResetPlan {
  /** Per scope: documents matched, and the environments they name. */
  summary: Record<DefaultScope, {environments: number; matched: number}>
  updates: PlannedUpdate[]
  warnings: string[]
}

/** The environments whose defaults are reset when no --input is given: every archived one (isArchived true). */
export async function archivedEnvironments(db: Db): Promise<Map<string, null | string>> {
  const out = new Map<string, null | string>()
  const cursor = db.collection('environments_v2').find({isArchived: true}, {projection: {_id: 1, name: 1}})
  for await (const e of cursor) {
    const id = hexOf(e._id)
    if (id) out.set(id, typeof e.name === 'string' ? e.name : null)
  }

  return out
}

/** "fullName (login)" of up to 5 users per environment, for the log (the predecessor's examples). */
async function exampleUsers(db: Db, byEnv: Map<string, string[]>): Promise<Map<string, string[]>> {
  const idf = await loadIdFilter()
  const ids = [...new Set([...byEnv.values()].flatMap((u) => u.slice(0, 5)))]
  const names = new Map<string, string>()
  if (ids.length > 0)
    for await (const u of db.collection('users').find(idf('_id', ids), {projection: {_id: 1, fullName: 1, loginId: 1}}))
      names.set(hexOf(u._id) ?? '', `${u.fullName ?? '?'} (${u.loginId?.id ?? '?'})`)
  return new Map([...byEnv].map(([env, users]) => [env, users.slice(0, 5).map((u) => names.get(u) ?? u)]))
}

/**
 * The default-environment fields that name one of `environments`, in the enabled scopes: each becomes an unset of
 * that field, made only while the field still holds the value read here. Optional collections that do not exist
 * are skipped.
 */
export async function planResetDefaults(
  db: Db,
  environments: Map<string, null | string>,
  scopes: DefaultScope[],
  log: (m: string) => void,
): Promise<ResetPlan> {
  const [{BSON}, idf] = await Promise.all([import('mongodb'), loadIdFilter()])
  const existing = new Set((await db.listCollections({}, {nameOnly: true}).toArray()).map((c) => c.name))
  const plan: ResetPlan = {
    summary: {
      organization: {environments: 0, matched: 0},
      project: {environments: 0, matched: 0},
      user: {environments: 0, matched: 0},
    },
    updates: [],
    warnings: [],
  }
  if (environments.size === 0) return plan
  for (const scope of scopes) {
    const {collection, field, what} = SCOPES[scope]
    if (!existing.has(collection)) continue
    const projection: Document = {_id: 1, [field]: 1, userId: 1}
    const byEnv = new Map<string, string[]>()
    // eslint-disable-next-line no-await-in-loop -- three scopes, one cursor each
    for await (const d of db.collection(collection).find(idf(field, environments.keys()), {projection})) {
      const id = hexOf(d._id)
      const env = hexOf(d[field])
      if (!id || !env) {
        plan.warnings.push(`${collection} ${String(d._id)}: _id or ${field} is not an ObjectId, left as it is`)
        continue
      }

      const name = environments.get(env)
      byEnv.set(env, [...(byEnv.get(env) ?? []), hexOf(d.userId) ?? id])
      plan.updates.push({
        collection,
        expect: {[field]: BSON.EJSON.serialize({v: d[field]}, {relaxed: false}).v},
        id,
        reason: `${what} names environment ${env}${name ? ` "${name}"` : ''}`,
        set: {},
        unset: [field],
      })
    }

    plan.summary[scope] = {environments: byEnv.size, matched: [...byEnv.values()].flat().length}
    // eslint-disable-next-line no-await-in-loop
    const examples = scope === 'user' ? await exampleUsers(db, byEnv) : new Map<string, string[]>()
    for (const [env, docs] of byEnv)
      log(
        `${what}: ${docs.length} name(s) environment ${env}${examples.get(env) ? ` (${examples.get(env)!.join(', ')})` : ''}`,
      )
  }

  return plan
}
