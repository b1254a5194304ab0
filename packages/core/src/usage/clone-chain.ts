import type {UsageGraph} from './graph.js'

import {DrcError} from '../lib/errors.js'
import {ExitCode} from '../lib/exit-codes.js'

/**
 * The build chain rule (design.md, usage rules): a revision that a kept revision was cloned from is kept,
 * recursively and across environments. Walks up `clonedEnvironmentRevisionId` from every revision of the graph
 * whose tag is not in `deletingEnvTags` (untagged revisions are kept too) and returns the environment tags in
 * `deletingEnvTags` met on the way, each with a reason naming the kept descendant (tag and revision). A cycle
 * ends a walk; a parent MongoDB does not know ends it as well (there is nothing of it to keep).
 * Throws when the graph has no revision data (rebuilt from a report): it cannot answer, so nothing may go.
 */
export function cloneProtection(graph: UsageGraph, deletingEnvTags: ReadonlySet<string>): Map<string, string> {
  const {revisions} = graph.data
  if (!revisions) {
    throw new DrcError('the clone chain rule needs a usage graph read from MongoDB, not one rebuilt from a report', {
      exitCode: ExitCode.FAILURE,
      suggestions: ['build the usage graph with buildUsageGraph(db) before planning deletions'],
    })
  }

  const kept = new Map<string, string>()
  for (const [revId, rev] of revisions) {
    if (rev.tag !== null && deletingEnvTags.has(rev.tag)) continue
    const seen = new Set([revId])
    let parentId = rev.clonedFrom
    while (parentId && !seen.has(parentId)) {
      seen.add(parentId)
      const parent = revisions.get(parentId)
      if (!parent) break
      if (parent.tag !== null && deletingEnvTags.has(parent.tag) && !kept.has(parent.tag)) {
        kept.set(
          parent.tag,
          `build chain: kept revision ${revId} (tag ${rev.tag ?? 'none'}) was cloned from revision ${parentId}` +
            (parentId === rev.clonedFrom ? '' : ' through other revisions'),
        )
      }

      parentId = parent.clonedFrom
    }
  }

  return kept
}
