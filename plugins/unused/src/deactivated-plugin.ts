import type {Config} from '@oclif/core'

import {type Candidate, type PlanContext, UsageError} from '@drc/core'
import path from 'node:path'
import {pathToFileURL} from 'node:url'

export const DEACTIVATED_PLUGIN = '@drc/plugin-deactivated'

export type PlanDeactivated = (
  ctx: Pick<PlanContext, 'config' | 'db' | 'log'>,
  opts: {archive?: boolean; unusedSinceDays?: number},
) => Promise<Candidate[]>

/**
 * The deactivated strategy's planner from the installed plugin (its package main exports `planDeactivated`).
 * plugin-unused does not depend on it: an operator may install one strategy without the other. Not installed,
 * or too old to export the planner: a usage error (exit 2) naming the install command.
 */
export async function loadPlanDeactivated(config: Config): Promise<PlanDeactivated> {
  const plugin = config.plugins.get(DEACTIVATED_PLUGIN)
  const install = `drc plugins install ${DEACTIVATED_PLUGIN}`
  if (!plugin)
    throw new UsageError(
      `drc unused all also plans the deactivated users' private environments: ${DEACTIVATED_PLUGIN} is not installed`,
      [`install it: ${install}`, 'or delete the unused environments alone: drc unused delete'],
    )
  const main = path.join(plugin.root, plugin.pjson.main ?? 'dist/index.js')
  const mod = (await import(pathToFileURL(main).href).catch(() => ({}))) as {planDeactivated?: unknown}
  if (typeof mod.planDeactivated !== 'function')
    throw new UsageError(`${DEACTIVATED_PLUGIN} ${plugin.version} (${plugin.root}) exports no planDeactivated`, [
      `update it: ${install}`,
    ])
  return mod.planDeactivated as PlanDeactivated
}

const sameDoc = (a: {collection: string; id: string}, b: {collection: string; id: string}) =>
  a.collection === b.collection && a.id === b.id

/**
 * One plan from both strategies: unused environments first, then the deactivated users' private ones. An image
 * both propose is planned once, with both reasons (and both sets of records for --mongo-cleanup and --archive).
 */
export function mergeCandidates(first: Candidate[], second: Candidate[]): Candidate[] {
  const byImage = new Map<string, Candidate>()
  for (const c of [...first, ...second]) {
    const key = `${c.repository}:${c.tag}`
    const seen = byImage.get(key)
    if (!seen) {
      byImage.set(key, {...c, mongo: [...(c.mongo ?? [])], mongoUpdates: [...(c.mongoUpdates ?? [])]})
      continue
    }

    seen.reason = `${seen.reason}; ${c.reason}`
    for (const m of c.mongo ?? []) if (!seen.mongo!.some((x) => sameDoc(x, m))) seen.mongo!.push(m)
    // The mongo-update phase takes each document once, whichever candidates name it.
    seen.mongoUpdates!.push(...(c.mongoUpdates ?? []))
  }

  return [...byImage.values()]
}
