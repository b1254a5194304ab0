import type {DrcConfig, LoadedConfig} from '../config/types.js'
import type {KubeClients, SecretReader} from '../kube/client.js'
import type {RegistryProbe} from './registry-probe.js'

export type HealthStatus = 'healthy' | 'skipped' | 'unhealthy'

export const HEALTH_CHECK_NAMES = [
  'configuration',
  'registry',
  'mongodb',
  'kubernetes',
  'registry_rbac',
  'registry_lock',
  's3',
  'keycloak',
] as const
export type HealthCheckName = (typeof HEALTH_CHECK_NAMES)[number]

export interface HealthResult {
  details: Record<string, unknown>
  durationMs: number
  message: string
  name: HealthCheckName
  /** A failure of a required check refuses the preflight (exit code 3). */
  required: boolean
  status: HealthStatus
  /** What the operator can do about an unhealthy result. */
  suggestions: string[]
}

/** What a check returns; the runner adds name, timing and, unless the check says otherwise, `required`. */
export interface CheckOutcome {
  details?: Record<string, unknown>
  message: string
  required?: boolean
  status: HealthStatus
  suggestions?: string[]
}

/** Shared, lazily created connections for one run of the checks. */
export interface HealthContext {
  config: DrcConfig
  env: NodeJS.ProcessEnv
  /** Kubernetes clients, created once on first use (rejects when there is no Kubernetes configuration). */
  kube: () => Promise<KubeClients>
  loaded: LoadedConfig
  readSecret: SecretReader
  registry: () => Promise<RegistryProbe>
  /** Aborted when the check's time is up; checks pass it on where the client supports it. */
  signal: AbortSignal
  timeoutMs: number
}

export interface HealthCheck {
  name: HealthCheckName
  /** Optional checks are left out by --skip-optional (s3 still runs when a bucket is configured). */
  optional: boolean
  /** Required unless the outcome says otherwise. */
  required: boolean
  run(ctx: HealthContext): Promise<CheckOutcome>
}
