import type {BlobGraph} from '../analysis/graph.js'
import type {UsageGraph} from '../usage/graph.js'
import type {UsageRules} from '../usage/types.js'
import type {Candidate, DeletionPlan, PlanItem, SkippedItem} from './types.js'

import {imageTypeOf} from '../usage/join.js'
import {buildDeletionPlan, normalizeRepository} from './digest-plan.js'
import {itemKey} from './types.js'

/** Environment tags that must stay because a revision not being deleted was cloned from them, with the reason. */
export type CloneProtection = (graph: UsageGraph, deletingEnvTags: ReadonlySet<string>) => Map<string, string>

/** Why MongoDB keeps this revision at planning (a tag in use, or unknown to MongoDB), or null when it may go. */
function inUseNow(item: PlanItem, usage: UsageGraph, rules: UsageRules): null | string {
  const type = imageTypeOf(item.repository)
  if (!type) return null
  for (const tag of item.tags) {
    const verdict = usage.evaluate(type, tag, rules)
    if (verdict.inUse) return `${tag}: ${verdict.reasons.join('; ')}`
    // The re-check keeps a tag MongoDB has no record of: the plan must not promise its delete.
    if (!verdict.usage) return `${tag}: unknown to MongoDB`
  }

  return null
}

const candidateKey = (repository: string, tag: string) => `${normalizeRepository(repository)}:${tag}`

/**
 * The digest-level plan of what is expected to go (design.md "Usage rules decided", one place for every
 * strategy): revisions in use at planning are kept apart (plan.inUse), and so is every environment revision
 * that a revision not being deleted was cloned from, recursively. Removing a revision from the deleting set
 * can protect more (its own clone source, or a digest it shared), so the plan is rebuilt until it is stable.
 * Predicted bytes, confirmation and backup then cover only what is expected to go.
 */
export function planWithUsage(
  graph: BlobGraph,
  candidates: readonly Candidate[],
  {cloneProtection, rules, usage}: {cloneProtection: CloneProtection; rules: UsageRules; usage: UsageGraph},
): DeletionPlan {
  const removed = new Set<string>()
  const inUse = new Map<string, PlanItem>()
  const cloneKept: SkippedItem[] = []
  const keepApart = (item: PlanItem) => {
    for (const t of item.tags) removed.add(candidateKey(item.repository, t))
  }

  for (;;) {
    const plan = buildDeletionPlan(
      graph,
      candidates.filter((c) => !removed.has(candidateKey(c.repository, c.tag))),
    )
    let changed = false
    for (const item of plan.items) {
      item.inUseAtPlan = inUseNow(item, usage, rules)
      if (!item.inUseAtPlan) continue
      inUse.set(itemKey(item), item)
      keepApart(item)
      changed = true
    }

    if (!changed) {
      const deletingEnvTags = new Set(
        plan.items.filter((i) => imageTypeOf(i.repository) === 'environment').flatMap((i) => i.tags),
      )
      const protectedTags = cloneProtection(usage, deletingEnvTags)
      for (const item of plan.items) {
        if (imageTypeOf(item.repository) !== 'environment') continue
        const hits = item.tags.filter((t) => protectedTags.has(t))
        if (hits.length === 0) continue
        for (const t of hits)
          cloneKept.push({digest: item.digest, reason: protectedTags.get(t)!, repository: item.repository, tag: t})
        keepApart(item)
        changed = true
      }
    }

    if (!changed) return {...plan, inUse: [...inUse.values()], skipped: [...cloneKept, ...plan.skipped]}
  }
}
