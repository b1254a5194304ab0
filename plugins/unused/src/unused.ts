import type {Db} from 'mongodb'

import {buildUsageGraph, evaluateUsage, type UsageGraph, type UsageRules} from '@drc/core'

import {type EnvironmentImages, readEnvironmentImages, type RevisionImage} from './environments.js'

/** A non-archived environment nothing uses: every revision image of it may go, its active revision's too. */
export interface UnusedEnvironment {
  activeRevisionId: string
  environmentId: string
  /** Why it is unused (the evidence each of its candidates carries). */
  evidence: string
  /** Latest run / session use of any of its revisions (older than --unused-since-days), null when none. */
  lastUsed: null | string
  name: null | string
  /** Its revisions that name an image (failed builds included: `built: false`, no image to delete). */
  revisions: RevisionImage[]
}

export interface UnusedEnvironments {
  /** Non-archived environments looked at. */
  checked: number
  /** Environments in use, with the first reason found (for `--json` readers and tests). */
  inUse: Array<{environmentId: string; reason: string}>
  unused: UnusedEnvironment[]
}

/**
 * Why environment `env` is in use, or null when nothing uses it. Every revision tag is evaluated with the one
 * predicate, the active revision mark set aside (activeRevisionKeeps: false): whatever names the environment
 * itself (project / organization / user default, scheduler job, app version, workspace) is attributed by the
 * graph to the active revision's tag, so it still keeps the environment. When the active revision is not a
 * tagged revision of the environment, that attribution cannot be seen: the environment counts as in use.
 */
function inUseReason(
  graph: UsageGraph,
  env: EnvironmentImages,
  rules: UsageRules,
): {lastUsed: Date | null; why: null | string} {
  const tagged = env.revisions.filter((r) => r.tag !== null)
  const active = tagged.find((r) => r.revisionId === env.activeRevisionId)
  if (!active)
    return {
      lastUsed: null,
      why: env.activeRevisionId
        ? `its active revision ${env.activeRevisionId} is not one of its tagged revisions (usage of the environment cannot be attributed)`
        : 'it has no active revision (usage of the environment cannot be attributed)',
    }
  let lastUsed: Date | null = null
  for (const r of tagged) {
    const verdict = evaluateUsage(graph.lookup('environment', r.tag!), {...rules, activeRevisionKeeps: false})
    if (verdict.inUse)
      return {lastUsed: verdict.lastUsed, why: `revision ${r.revisionId} (${r.tag}): ${verdict.reasons.join('; ')}`}
    if (verdict.lastUsed && (!lastUsed || verdict.lastUsed > lastUsed)) lastUsed = verdict.lastUsed
  }

  return {lastUsed, why: null}
}

function evidenceOf(env: EnvironmentImages, rules: UsageRules, lastUsed: Date | null): string {
  const since =
    rules.unusedSinceDays === undefined
      ? 'no configuration, workspace, session or run uses any of its revisions'
      : `no configuration or existing workspace uses any of its revisions, and no run or session did in the last ${rules.unusedSinceDays} days${lastUsed ? ` (last used ${lastUsed.toISOString()})` : ''}`
  return `environment ${env.environmentId}${env.name ? ` "${env.name}"` : ''} unused: ${since}`
}

/**
 * The unused-environments rule (design.md "Usage rules decided"): whole non-archived environments that nothing
 * uses. Archived environments belong to the archived strategy.
 */
export async function findUnusedEnvironments(db: Db, rules: UsageRules): Promise<UnusedEnvironments> {
  const graph = await buildUsageGraph(db, {now: rules.now})
  const envs = (await readEnvironmentImages(db)).filter((e) => !e.archived)
  const result: UnusedEnvironments = {checked: envs.length, inUse: [], unused: []}
  for (const env of envs) {
    const {lastUsed, why} = inUseReason(graph, env, rules)
    if (why) {
      result.inUse.push({environmentId: env.environmentId, reason: why})
      continue
    }

    result.unused.push({
      activeRevisionId: env.activeRevisionId!,
      environmentId: env.environmentId,
      evidence: evidenceOf(env, rules, lastUsed),
      lastUsed: lastUsed?.toISOString() ?? null,
      name: env.name,
      revisions: env.revisions.filter((r) => r.tag !== null),
    })
  }

  return result
}
