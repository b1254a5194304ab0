export {formatHealthTable} from './format.js'
export type {RegistryProbe} from './registry-probe.js'
export {
  DEFAULT_CHECK_TIMEOUT_MS,
  failedRequired,
  HEALTH_CHECKS,
  type HealthOptions,
  runHealthChecks,
  selectChecks,
} from './run.js'
export {HEALTH_CHECK_NAMES, type HealthCheckName, type HealthResult, type HealthStatus} from './types.js'
