/** Prometheus metrics of drc commands (prom-client): --metrics-file and --pushgateway. */
export {registryFigures, reportsFigures, runFigures, strategyFigures} from './figures.js'
export type {MetricFigures, RepositoryFigures, RunFigures, StrategyFigures} from './figures.js'
export {metricsFlags, metricsTargets, recordMetrics, recordRunMetrics, wantsMetrics} from './flags.js'
export type {MetricsFlagValues} from './flags.js'
export {emitMetrics, groupingOf, PUSH_JOB, pushMetrics, writeMetricsFile} from './output.js'
export type {MetricsTargets} from './output.js'
export {LOCK_STATES, metricsRegistry} from './registry.js'
