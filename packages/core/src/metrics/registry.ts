/** The prom-client registry of one command's figures (metric names and labels: README "Reports and dashboards"). */
import type {Registry} from 'prom-client'

import type {MetricFigures} from './figures.js'

/** Every lock state the lifecycle reports (src/lifecycle/run-state.ts): one sample each, 1 for the current one. */
export const LOCK_STATES = ['never unlocked', 'not needed', 'relocked', 'RE-LOCK FAILED'] as const

export async function metricsRegistry(f: MetricFigures): Promise<Registry> {
  const {Gauge, Registry: PromRegistry} = await import('prom-client')
  const registry = new PromRegistry()
  const gauge = (name: string, help: string, labelNames: string[]) =>
    new Gauge({help, labelNames, name, registers: [registry]})

  gauge('drc_command_duration_seconds', 'Wall time of the last drc command run.', ['command']).set(
    {command: f.command},
    f.durationSeconds,
  )
  if (f.success) {
    gauge('drc_command_last_success_timestamp_seconds', 'When the command last finished successfully (Unix time).', [
      'command',
    ]).set({command: f.command}, f.finishedAt.getTime() / 1000)
  }

  if (f.registry) {
    const bytes = gauge('drc_registry_bytes', 'Distinct bytes of the images of a repository by usage status.', [
      'repository',
      'status',
    ])
    const tags = gauge('drc_registry_tags', 'Tags of a repository by usage status.', ['repository', 'status'])
    const images = gauge('drc_registry_images', 'Images (distinct digests) of a repository.', ['repository'])
    for (const r of f.registry) {
      images.set({repository: r.repository}, r.images)
      for (const status of ['used', 'unused', 'unknown'] as const) {
        bytes.set({repository: r.repository, status}, r.bytes[status])
        tags.set({repository: r.repository, status}, r.tags[status])
      }
    }
  }

  if (f.strategies) {
    const bytes = gauge('drc_strategy_recoverable_bytes', 'Bytes GC would free after the latest plan of a strategy.', [
      'strategy',
    ])
    const images = gauge('drc_strategy_candidate_images', 'Images the latest plan of a strategy would delete.', [
      'strategy',
    ])
    for (const s of f.strategies) {
      bytes.set({strategy: s.strategy}, s.recoverable_bytes)
      images.set({strategy: s.strategy}, s.candidate_images)
    }
  }

  if (f.run) runMetrics(f, gauge)
  if (f.health) {
    const check = gauge('drc_health_check', 'Result of a health check: 1 for its status.', ['check', 'status'])
    for (const h of f.health)
      for (const s of ['healthy', 'unhealthy', 'skipped']) check.set({check: h.name, status: s}, h.status === s ? 1 : 0)
  }

  return registry
}

type GaugeMaker = (name: string, help: string, labelNames: string[]) => import('prom-client').Gauge

function runMetrics(f: MetricFigures, gauge: GaugeMaker): void {
  const r = f.run!
  const {strategy} = r
  const images = gauge('drc_run_images', 'Images of the last deletion run by outcome.', ['strategy', 'outcome'])
  images.set({outcome: 'deleted', strategy}, r.deleted)
  images.set({outcome: 'deleted_unverified', strategy}, r.deleted_unverified)
  images.set({outcome: 'kept', strategy}, r.kept)
  images.set({outcome: 'failed', strategy}, r.failed)
  const freed = gauge('drc_run_freed_bytes', 'Bytes the last deletion run freed: predicted, and measured when known.', [
    'strategy',
    'kind',
  ])
  freed.set({kind: 'predicted', strategy}, r.predicted_freed_bytes)
  if (r.measured_freed_bytes !== null) freed.set({kind: 'measured', strategy}, r.measured_freed_bytes)
  gauge('drc_run_duration_seconds', 'Wall time of the last deletion run.', ['strategy']).set(
    {strategy},
    f.durationSeconds,
  )
  gauge('drc_run_exit_code', 'Exit code of the last deletion run.', ['strategy']).set({strategy}, r.exit_code)
  if (f.success) {
    gauge('drc_run_last_success_timestamp_seconds', 'When a deletion run of the strategy last succeeded (Unix time).', [
      'strategy',
    ]).set({strategy}, f.finishedAt.getTime() / 1000)
  }

  const lock = gauge('drc_registry_lock_state', 'Registry deletion lock after the last run: 1 for its state.', [
    'strategy',
    'state',
  ])
  const states = new Set<string>([r.lock, ...LOCK_STATES])
  for (const state of states) lock.set({state, strategy}, state === r.lock ? 1 : 0)
}
