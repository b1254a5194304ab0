import type {Document} from 'mongodb'

import type {EnvContext} from './context.js'
import type {EnvironmentTagIndex} from './tag-index.js'

import {hexOf} from '../tags.js'
import {latestTimestamp, parseTimestamp} from '../timestamps.js'

export interface RunStats {
  count: number
  latest: Date | null
  latestRunId: string
  projectId: null | string
  undated: number
}

/** Workspace and app sessions are runs too, with this volume type; they are not counted as runs. */
const REUSABLE_VOLUME = 'RunReusableVolumeSpecification'

/** Statuses of a run (or session) that has ended; any other status means it may still use its image. */
export const FINAL_STATUS = /^(succeeded|failed|error|stopped|completed|cancel+ed|killed|deleted)$/i

/** A run not completed (no `completed` time, or a status that is not final) is in use now, whatever its start. */
export function runInProgress(d: {completed?: unknown; status?: unknown}): boolean {
  if (!parseTimestamp(d.completed)) return true
  return typeof d.status === 'string' && !FINAL_STATUS.test(d.status)
}

/**
 * Runs, folded per revision while streaming. FerretDB 1.24 implements only $count/$sum as $group accumulators
 * (no $max/$first), so the maxima are computed here; memory still grows with revisions only.
 */
export async function readRuns(ctx: EnvContext, now: Date): Promise<Map<string, RunStats>> {
  const runs = new Map<string, RunStats>()
  if (!ctx.touched) return runs
  const filter = {
    ...(ctx.scoped ? ctx.idFilter('environmentRevisionId', ctx.revIds) : {environmentRevisionId: {$exists: true}}),
    'volumeSpecification._t': {$ne: REUSABLE_VOLUME},
  }
  for await (const d of ctx.reader.find('runs', filter, {
    completed: 1,
    environmentRevisionId: 1,
    projectId: 1,
    started: 1,
    status: 1,
  })) {
    const rev = hexOf(d.environmentRevisionId)
    if (!rev) continue
    let s = runs.get(rev)
    if (!s) {
      s = {count: 0, latest: null, latestRunId: hexOf(d._id) ?? '', projectId: hexOf(d.projectId), undated: 0}
      runs.set(rev, s)
    }

    s.count++
    const t = runInProgress(d) ? now : latestTimestamp([d.completed, d.started])
    if (!t) s.undated++
    else if (!s.latest || t > s.latest) {
      s.latest = t
      s.latestRunId = hexOf(d._id) ?? s.latestRunId
      s.projectId = hexOf(d.projectId)
    }
  }

  return runs
}

export function addRuns(
  index: EnvironmentTagIndex,
  runs: Map<string, RunStats>,
  projects: Map<string, Document>,
): void {
  for (const [revId, s] of runs) {
    index.add(revId, {
      count: s.count,
      detail: s.undated > 0 ? `${s.undated} run(s) without start/completion time` : undefined,
      id: s.latestRunId,
      kind: 'run',
      // Any undated run makes the age unknown, which counts as in use (domain-spec §6.1 #4).
      lastUsed: s.undated > 0 ? null : s.latest,
      ownerId: (s.projectId && hexOf(projects.get(s.projectId)?.ownerId)) || undefined,
      projectId: s.projectId ?? undefined,
    })
  }
}
