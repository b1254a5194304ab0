import type {LoadedConfig} from '../config/types.js'
import type {KubeClients} from '../kube/client.js'
import type {RegistryProbe} from './registry-probe.js'

import {createKubeClients, secretDataReader, secretReader} from '../kube/client.js'
import {errorMessage} from '../lib/errors.js'
import {configurationCheck} from './checks/configuration.js'
import {keycloakCheck} from './checks/keycloak.js'
import {kubernetesCheck, registryRbacCheck} from './checks/kubernetes.js'
import {mongodbCheck} from './checks/mongodb.js'
import {registryLockCheck} from './checks/registry-lock.js'
import {registryCheck} from './checks/registry.js'
import {s3Check} from './checks/s3.js'
import {registryProbe} from './registry-probe.js'
import {
  type CheckOutcome,
  type HealthCheck,
  type HealthCheckName,
  type HealthContext,
  type HealthResult,
} from './types.js'

/** Every check, in report order. */
export const HEALTH_CHECKS: readonly HealthCheck[] = [
  configurationCheck,
  registryCheck,
  mongodbCheck,
  kubernetesCheck,
  registryRbacCheck,
  registryLockCheck,
  s3Check,
  keycloakCheck,
]

export const DEFAULT_CHECK_TIMEOUT_MS = 15_000

export interface HealthOptions {
  env?: NodeJS.ProcessEnv
  /** Run only these checks (the deletion preflight picks what its plan touches). */
  only?: readonly HealthCheckName[]
  /** Called with each result as its check finishes (progress). */
  onResult?: (result: HealthResult) => void
  /** Replace the registry probe (the deletion lifecycle passes its own client). */
  registry?: () => Promise<RegistryProbe>
  /** Leave out optional checks; S3 and Keycloak still run when they are configured. */
  skipOptional?: boolean
  timeoutMs?: number
}

function memo<T>(make: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined
  return () => {
    value ??= make()
    return value
  }
}

export function selectChecks(loaded: LoadedConfig, opts: Pick<HealthOptions, 'only' | 'skipOptional'>): HealthCheck[] {
  const {config} = loaded
  return HEALTH_CHECKS.filter((check) => {
    if (opts.only && !opts.only.includes(check.name)) return false
    if (!opts.skipOptional || !check.optional) return true
    return (
      (check.name === 's3' && Boolean(config.s3.bucket)) || (check.name === 'keycloak' && Boolean(config.keycloak.url))
    )
  })
}

/** Runs one check with its own deadline; a thrown error or the deadline makes it unhealthy, never the whole run. */
async function runOne(check: HealthCheck, base: Omit<HealthContext, 'signal'>): Promise<HealthResult> {
  const started = performance.now()
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<CheckOutcome>((resolve) => {
    timer = setTimeout(() => {
      controller.abort()
      resolve({
        message: `${check.name} check did not finish within ${base.timeoutMs / 1000} s`,
        status: 'unhealthy',
        suggestions: ['check that the service is reachable from here (a firewall that drops packets looks like this)'],
      })
    }, base.timeoutMs)
  })
  let outcome: CheckOutcome
  try {
    outcome = await Promise.race([check.run({...base, signal: controller.signal}), deadline])
  } catch (error) {
    const {suggestions} = error as {suggestions?: unknown}
    outcome = {
      message: errorMessage(error),
      status: 'unhealthy',
      suggestions: Array.isArray(suggestions) ? suggestions : [],
    }
  } finally {
    clearTimeout(timer)
  }

  return {
    details: outcome.details ?? {},
    durationMs: Math.round(performance.now() - started),
    message: outcome.message,
    name: check.name,
    required: outcome.required ?? check.required,
    status: outcome.status,
    suggestions: outcome.suggestions ?? [],
  }
}

/**
 * Runs the health checks concurrently, each with its own timeout, sharing lazily created connections.
 * Never throws for an unreachable or misconfigured service: that is what the results are for.
 */
export async function runHealthChecks(loaded: LoadedConfig, opts: HealthOptions = {}): Promise<HealthResult[]> {
  const env = opts.env ?? process.env
  const {config} = loaded
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS
  // Aborted once every check has answered or timed out, so requests a timed-out check left behind end too.
  const run = new AbortController()
  const kube = memo<KubeClients>(() => createKubeClients(config, env, {signal: run.signal}))
  let ownProbe: Promise<RegistryProbe> | undefined
  const base: Omit<HealthContext, 'signal'> = {
    config,
    env,
    kube,
    loaded,
    readSecret: async (namespace, name) => secretReader(await kube())(namespace, name),
    registry:
      opts.registry ??
      (() => {
        ownProbe ??= import('../registry/credentials.js').then(async ({resolveCredentials}) => {
          // Secrets are read raw (base64): the credentials module decodes .dockerconfigjson itself.
          const credentials = await resolveCredentials(config, {env, readSecret: secretDataReader(kube)})
          return registryProbe(config, {credentials, timeoutMs})
        })
        return ownProbe
      }),
    timeoutMs,
  }
  try {
    return await Promise.all(
      selectChecks(loaded, opts).map(async (check) => {
        const result = await runOne(check, base)
        opts.onResult?.(result)
        return result
      }),
    )
  } finally {
    run.abort()
    // Only the probe made here is closed; one passed in belongs to the caller.
    await ownProbe?.then((probe) => probe.close()).catch(() => {})
  }
}

/** The preflight verdict: which required checks failed (skipped checks never fail). */
export function failedRequired(results: readonly HealthResult[]): HealthResult[] {
  return results.filter((r) => r.required && r.status === 'unhealthy')
}
