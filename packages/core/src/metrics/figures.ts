/** The figures a command reports as Prometheus metrics, from its result (one shape for every command). */
import type {HealthResult} from '../health/types.js'
import type {DeletionReport} from '../lifecycle/phases/audit.js'
import type {ImageEntry} from '../reports/image-analysis.js'
import type {TagStatus, TagUsageSummary} from '../usage/join.js'

export interface RepositoryFigures {
  /** Distinct bytes of the images of each usage status (shared layers once). */
  bytes: Record<TagStatus, number>
  images: number
  repository: string
  tags: Record<TagStatus, number>
}

export interface StrategyFigures {
  candidate_images: number
  recoverable_bytes: number
  strategy: string
}

export interface RunFigures {
  deleted: number
  deleted_unverified: number
  exit_code: number
  failed: number
  kept: number
  lock: string
  /** Null: nothing measured the registry's storage (the metric is then left out, not written as 0). */
  measured_freed_bytes: null | number
  predicted_freed_bytes: number
  strategy: string
}

export interface MetricFigures {
  command: string
  durationSeconds: number
  finishedAt: Date
  health?: Array<Pick<HealthResult, 'name' | 'status'>>
  registry?: RepositoryFigures[]
  run?: RunFigures
  strategies?: StrategyFigures[]
  success: boolean
}

const STATUSES: TagStatus[] = ['used', 'unused', 'unknown']
const byStatus = (f: (s: TagStatus) => number) =>
  Object.fromEntries(STATUSES.map((s) => [s, f(s)])) as Record<TagStatus, number>

/** Per repository: images (digests) from the image analysis, bytes and tags by usage from the usage summary. */
export function registryFigures(
  images: ImageEntry[],
  usage: null | Pick<TagUsageSummary, 'repositories'>,
): RepositoryFigures[] {
  const counts = new Map<string, number>()
  for (const i of images) counts.set(i.repository, (counts.get(i.repository) ?? 0) + 1)
  const repos = new Map((usage?.repositories ?? []).map((r) => [r.repository, r]))
  return [...new Set([...counts.keys(), ...repos.keys()])].sort().map((repository) => {
    const r = repos.get(repository)
    return {
      bytes: byStatus((s) => r?.[s].bytes ?? 0),
      images: counts.get(repository) ?? 0,
      repository,
      tags: byStatus((s) => r?.[s].tags ?? 0),
    }
  })
}

/** What a plan (or audit) report says a strategy could recover: its planned revisions and their bytes. */
export function strategyFigures(
  report: Pick<DeletionReport, 'planned' | 'predicted_freed_bytes' | 'strategy'>,
): StrategyFigures {
  return {
    candidate_images: report.planned.length,
    recoverable_bytes: report.predicted_freed_bytes,
    strategy: report.strategy,
  }
}

export function runFigures(report: DeletionReport, measuredFreedBytes: null | number = null): RunFigures {
  return {
    deleted: report.counts.deleted,
    deleted_unverified: report.counts.deleted_unverified,
    exit_code: report.exit_code,
    failed: report.counts.failed,
    kept: report.counts.skipped,
    lock: report.lock,
    measured_freed_bytes: measuredFreedBytes,
    predicted_freed_bytes: report.predicted_freed_bytes_deleted,
    strategy: report.strategy,
  }
}

/** `drc reports` / `drc report html`: registry figures, and each strategy's latest plan/audit as recoverable. */
export function reportsFigures(
  command: string,
  started: Date,
  source: {images: ImageEntry[]; usage: null | Pick<TagUsageSummary, 'repositories'>},
  strategies: Array<{candidates: Array<{kept: null | string}>; predicted_freed_bytes: number; strategy: string}>,
): MetricFigures {
  const finishedAt = new Date()
  return {
    command,
    durationSeconds: (finishedAt.getTime() - started.getTime()) / 1000,
    finishedAt,
    registry: registryFigures(source.images, source.usage),
    strategies: strategies.map((s) => ({
      candidate_images: s.candidates.filter((c) => c.kept === null).length,
      recoverable_bytes: s.predicted_freed_bytes,
      strategy: s.strategy,
    })),
    success: true,
  }
}
