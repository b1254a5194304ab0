import type {BlobGraph} from '../analysis/graph.js'
import type {DeletionPlan} from './types.js'

/** Every repository's tags as the plan's scan saw them. */
export function tagsAtPlanTime(graph: BlobGraph | undefined): Map<string, Set<string>> | undefined {
  if (!graph) return undefined
  const out = new Map<string, Set<string>>()
  for (const rev of graph.listRevisions()) {
    const set = out.get(rev.repository) ?? new Set<string>()
    for (const tag of rev.tags) set.add(tag)
    out.set(rev.repository, set)
  }

  return out
}

/**
 * The guards every strategy gets (pitfall P8: refuse plans that exceed a deletion budget or would empty a
 * repository without an explicit flag). Returns one message per refusal, empty when the plan may run.
 */
export function budgetRefusals(
  plan: DeletionPlan,
  graph: BlobGraph | undefined,
  opts: {allowEmptyRepository: boolean; maxDelete: number; maxDeleteSource: string},
): string[] {
  const refusals: string[] = []
  if (plan.items.length > opts.maxDelete)
    refusals.push(
      `the plan deletes ${plan.items.length} manifests, more than ${opts.maxDeleteSource} = ${opts.maxDelete}`,
    )
  if (opts.allowEmptyRepository) return refusals
  const tags = tagsAtPlanTime(graph) ?? new Map<string, Set<string>>()
  const going = new Map<string, Set<string>>()
  for (const i of plan.items)
    for (const t of i.tags) going.set(i.repository, (going.get(i.repository) ?? new Set()).add(t))
  for (const [repository, planned] of going) {
    const all = tags.get(repository)
    if (all && all.size > 0 && [...all].every((t) => planned.has(t)))
      refusals.push(`the plan deletes every tag of ${repository} (${all.size}); --allow-empty-repository allows it`)
  }

  return refusals
}
