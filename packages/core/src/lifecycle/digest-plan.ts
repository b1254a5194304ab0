import type {BlobGraph, ImageSelector} from '../analysis/graph.js'
import type {Candidate, DeletionPlan, PlanItem, SkippedItem} from './types.js'

import {itemKey} from './types.js'

/**
 * Mongo may store the repository with the registry host in front (`host:5000/dominodatalab/environment`); the
 * blob graph knows repositories without it.
 */
export function normalizeRepository(repository: string): string {
  const [first, ...rest] = repository.split('/')
  return rest.length > 0 && (first.includes('.') || first.includes(':') || first === 'localhost')
    ? rest.join('/')
    : repository
}

/**
 * Turns tag candidates into a digest-level plan (invariant 2): a digest goes only when every tag on it is a
 * candidate and no kept index lists it; an index goes before its children. Everything left out is named with
 * its reason.
 */
export function buildDeletionPlan(graph: BlobGraph, candidates: readonly Candidate[]): DeletionPlan {
  const evidence = new Map<string, string[]>()
  const selection: ImageSelector[] = []
  for (const c of candidates) {
    const repository = normalizeRepository(c.repository)
    const k = `${repository}:${c.tag}`
    if (!evidence.has(k)) selection.push({repository, tag: c.tag})
    evidence.set(k, [...(evidence.get(k) ?? []), c.reason])
  }

  const freed = graph.freedBytes(selection)
  const revisions = new Map(graph.listRevisions().map((r) => [r.key, r]))
  const deleting = new Set(freed.deletes.map((d) => itemKey(d)))
  // child → planned indexes listing it, built once (linear in the graph, not items × revisions).
  const parentsOf = new Map<string, string[]>()
  for (const k of deleting)
    for (const child of revisions.get(k)?.children ?? []) parentsOf.set(child, [...(parentsOf.get(child) ?? []), k])
  const items: PlanItem[] = freed.deletes.map((d) => {
    const k = itemKey(d)
    const rev = revisions.get(k)!
    const parents = parentsOf.get(k) ?? []
    return {
      digest: d.digest,
      evidence: rev.tags.flatMap((t) => evidence.get(`${d.repository}:${t}`) ?? []),
      parents,
      repository: d.repository,
      tags: [...rev.tags].sort(),
    }
  })
  const skipped: SkippedItem[] = [
    ...freed.keptBecauseOfOtherTags.map((k) => ({
      digest: k.digest,
      reason: `digest shared with tag(s) outside the deletion set: ${k.otherTags.join(', ')}`,
      repository: k.repository,
      tag: k.tag,
    })),
    ...freed.keptBecauseReferenced.map((k) => ({
      digest: k.digest,
      reason: 'listed by an index that is kept',
      repository: k.repository,
    })),
    ...freed.missing.map((m) => ({
      reason: 'not in the registry',
      repository: m.repository,
      ...('tag' in m ? {tag: m.tag} : {digest: m.digest}),
    })),
  ]
  return {candidates: selection.length, inUse: [], items, predictedFreedBytes: freed.bytes, skipped}
}
