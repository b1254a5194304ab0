import type {SourceKind, TagUsage, UsageRules, UsageSource, Verdict} from './types.js'

import {DAY_MS} from './timestamps.js'
import {ages, isWorkspaceConfig} from './types.js'

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

// Order and wording follow the predecessor's usage summary (domain-spec §1.4); the last two kinds are new.
const PARTS: Array<[SourceKind, (n: number) => string]> = [
  ['run', (n) => `${plural(n, 'execution')} in MongoDB`],
  ['workspace', (n) => plural(n, 'workspace')],
  ['model_version', (n) => plural(n, 'model')],
  ['scheduler_job', (n) => plural(n, 'scheduler job')],
  ['project', (n) => `${plural(n, 'project')} using as default`],
  ['organization', (n) => `${plural(n, 'organization')} using as default`],
  ['app_version', (n) => plural(n, 'app version')],
  ['user_preference', (n) => `${plural(n, 'user preference')} using as default`],
  ['active_revision', () => 'active revision of its environment'],
]

/** Human summary of who uses a tag, e.g. "3 executions in MongoDB, 1 workspace". */
export function usageSummary(sources: UsageSource[]): string {
  const parts: string[] = []
  for (const [kind, text] of PARTS) {
    const of = sources.filter((s) => s.kind === kind)
    if (of.length === 0) continue
    // Runs are aggregated per revision: count runs, not groups. Others count distinct documents
    // (models: distinct models, since every version of one model protects the same way).
    const n =
      kind === 'run'
        ? of.reduce((sum, s) => sum + (s.count ?? 1), 0)
        : new Set(of.map((s) => (kind === 'model_version' ? (s.projectId ?? s.id) : s.id))).size
    parts.push(text(n))
  }

  return parts.length > 0 ? parts.join(', ') : 'No usage found'
}

/** Latest run/workspace use, or null; `unknown` when some such use has no parseable time. */
export function latestUse(sources: UsageSource[]): {latest: Date | null; unknown: boolean} {
  let latest: Date | null = null
  let unknown = false
  for (const s of sources) {
    if (!ages(s)) continue
    if (!s.lastUsed) unknown = true
    else if (!latest || s.lastUsed > latest) latest = s.lastUsed
  }

  return {latest, unknown}
}

/** "existing workspace <id> (stopped)", once per workspace whose configuration names the tag. */
function workspaceReasons(sources: UsageSource[]): string[] {
  const byId = new Map<string, string>()
  for (const s of sources) {
    if (isWorkspaceConfig(s) && !byId.has(s.id))
      byId.set(s.id, `existing workspace ${s.id} (${s.detail ?? 'state unknown'})`)
  }

  return [...byId.values()]
}

/**
 * The one in-use predicate. A tag is in use when:
 * - it has configuration usage (model version, project/organization/user default, scheduler job, app version,
 *   active revision, what an existing workspace's configuration names): never ages out;
 * - it has run/session usage and no age limit is given, or some of that usage has unknown age, or the latest
 *   use is within `unusedSinceDays`;
 * - its image was created within the grace period (fresh builds have had no chance to be used yet).
 */
export function evaluateUsage(usage: TagUsage | undefined, rules: UsageRules): Verdict {
  const sources = usage?.sources ?? []
  const reasons: string[] = []
  const activeKeeps = rules.activeRevisionKeeps !== false
  const config = sources.filter(
    (s) => !ages(s) && !isWorkspaceConfig(s) && (activeKeeps || s.kind !== 'active_revision'),
  )
  if (config.length > 0) reasons.push(`configuration: ${usageSummary(config)}`)
  reasons.push(...workspaceReasons(sources))
  const ageing = sources.filter((s) => ages(s))
  const {latest, unknown} = latestUse(ageing)
  if (ageing.length > 0) {
    const what = usageSummary(ageing)
    if (rules.unusedSinceDays === undefined) reasons.push(what)
    else if (unknown) reasons.push(`${what} (age unknown, counted as in use)`)
    else if (latest && latest.getTime() >= rules.now.getTime() - rules.unusedSinceDays * DAY_MS) {
      reasons.push(`${what} (last used ${latest.toISOString()}, within ${rules.unusedSinceDays} days)`)
    }
  }

  if (usage?.createdAt && rules.gracePeriodDays > 0) {
    const ageDays = (rules.now.getTime() - usage.createdAt.getTime()) / DAY_MS
    if (ageDays < rules.gracePeriodDays) {
      reasons.push(
        `created ${Math.max(0, Math.floor(ageDays))} day(s) ago, within the ${rules.gracePeriodDays}-day grace period`,
      )
    }
  }

  return {inUse: reasons.length > 0, lastUsed: latest, reasons, summary: usageSummary(sources)}
}
