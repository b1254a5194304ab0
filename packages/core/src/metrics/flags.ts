/** The --metrics-file / --pushgateway flags every command with figures takes, and the deletion runs' entry point. */
import {Flags} from '@oclif/core'

import type {DeletionReport} from '../lifecycle/phases/audit.js'
import type {MetricFigures} from './figures.js'
import type {MetricsTargets} from './output.js'

import {UsageError} from '../lib/errors.js'
import {runFigures} from './figures.js'

export const metricsFlags = {
  'metrics-file': Flags.string({
    description: "Write Prometheus metrics (text format) to this file, e.g. for node_exporter's textfile collector.",
    helpGroup: 'METRICS',
  }),
  pushgateway: Flags.string({
    description: 'Push Prometheus metrics to this Pushgateway at the end (job drc), e.g. http://pushgateway:9091.',
    helpGroup: 'METRICS',
  }),
}

export interface MetricsFlagValues {
  'metrics-file'?: string
  pushgateway?: string
}

/** Checked before the command does any work: a bad URL should not surface only after a long run. */
export function metricsTargets(flags: MetricsFlagValues): MetricsTargets {
  const url = flags.pushgateway
  if (url !== undefined && !/^https?:\/\/[^\s/]+/.test(url)) {
    throw new UsageError(`--pushgateway must be an http:// or https:// URL, not "${url}"`, [
      'Give the Pushgateway base URL, e.g. --pushgateway http://pushgateway.monitoring:9091',
    ])
  }

  return {metricsFile: flags['metrics-file'], pushgateway: url}
}

export const wantsMetrics = (t: MetricsTargets): boolean => Boolean(t.metricsFile || t.pushgateway)

/** Emits a command's figures when a target is set; a no-op (no prom-client load) otherwise. */
export async function recordMetrics(figures: MetricFigures, targets: MetricsTargets): Promise<void> {
  if (!wantsMetrics(targets)) return
  const {emitMetrics} = await import('./output.js')
  await emitMetrics(figures, targets)
}

/**
 * For the deletion lifecycle: the run's figures (deleted / kept / failed, freed predicted and measured, duration,
 * last success, lock state, and the strategy's recoverable bytes from its plan), written and/or pushed.
 * Wiring: spread `metricsFlags` into DeletionCommand's flags, then after writeRunReport:
 * `await recordRunMetrics(report, this.flags)`.
 */
export async function recordRunMetrics(
  report: DeletionReport,
  flags: MetricsFlagValues,
  opts: {measuredFreedBytes?: null | number} = {},
): Promise<void> {
  const started = Date.parse(report.started_at)
  const finished = new Date(report.finished_at)
  await recordMetrics(
    {
      command: report.strategy,
      durationSeconds: Math.max(0, (finished.getTime() - started) / 1000),
      finishedAt: finished,
      run: runFigures(report, opts.measuredFreedBytes ?? null),
      strategies: [
        {
          candidate_images: report.planned.length,
          recoverable_bytes: report.predicted_freed_bytes,
          strategy: report.strategy,
        },
      ],
      success: report.exit_code === 0 && report.status !== 'failed' && report.status !== 'cancelled',
    },
    metricsTargets(flags),
  )
}
