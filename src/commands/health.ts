import type {HealthResult} from '@drc/core/health/types.js'

import {formatHealthTable} from '@drc/core/health/format.js'
import {DEFAULT_CHECK_TIMEOUT_MS, failedRequired, runHealthChecks} from '@drc/core/health/run.js'
import {HEALTH_CHECK_NAMES} from '@drc/core/health/types.js'
import {BaseCommand} from '@drc/core/lib/base-command.js'
import {ExitCode} from '@drc/core/lib/exit-codes.js'
import {elapsed, progress} from '@drc/core/lib/progress.js'
import {metricsFlags, metricsTargets, recordMetrics} from '@drc/core/metrics/flags.js'
import {Flags} from '@oclif/core'

export interface HealthCommandResult {
  /** True when no required check is unhealthy. */
  healthy: boolean
  results: HealthResult[]
}

export default class Health extends BaseCommand<typeof Health> {
  static description = `Check everything drc depends on: the configuration, the registry (ping, credentials, tags of the configured repositories), MongoDB (ping, Domino's collections), Kubernetes (platform namespace; a server-side dry-run PATCH of the registry StatefulSet proves the RBAC that unlocking deletion needs, skipped for external registries), the registry's deletion lock (unhealthy when deletion is left enabled and no live drc run explains it, e.g. after a run was killed; \`drc registry lock\` fixes it), S3 (when a backup bucket is configured) and Keycloak (when configured).

Checks run concurrently, each with its own timeout. Each result is healthy, unhealthy or skipped, with a message that says what to do. The exit code is 3 when a required check is unhealthy, 0 otherwise.

Aliases: drc health_check (the predecessor's name), drc health-check`
  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --skip-optional',
    '<%= config.bin %> <%= command.id %> --registry-url https://registry.example.com --repository acme',
  ]
  static flags = {
    check: Flags.option({
      description: 'Run only this check (repeatable).',
      multiple: true,
      options: HEALTH_CHECK_NAMES,
    })(),
    ...metricsFlags,
    namespace: Flags.string({description: 'Domino platform namespace (kubernetes.domino_platform_namespace).'}),
    'registry-url': Flags.string({description: 'Registry URL, e.g. https://registry.example.com (registry.url).'}),
    repository: Flags.string({description: 'Base repository (registry.repository).'}),
    'skip-optional': Flags.boolean({
      description: 'Skip the optional checks (Kubernetes, registry RBAC; S3 and Keycloak unless configured).',
    }),
    timeout: Flags.integer({
      default: DEFAULT_CHECK_TIMEOUT_MS / 1000,
      description: 'Seconds each check may take.',
      min: 1,
    }),
  }
  // The predecessor's command name, kept working for scripts but not listed twice in help.
  static hiddenAliases = ['health_check', 'health-check']
  static summary = 'Check access to the registry, MongoDB, Kubernetes, S3 and Keycloak.'

  protected configFlags(): Record<string, unknown> {
    return {
      'kubernetes.domino_platform_namespace': this.flags.namespace,
      'registry.repository': this.flags.repository,
      'registry.url': this.flags['registry-url'],
    }
  }

  async run(): Promise<HealthCommandResult> {
    // An invalid configuration is a result (the configuration check), not a crash: load without refusing.
    const started = new Date()
    const metrics = metricsTargets(this.flags)
    const loaded = await this.loadConfigRaw()
    const shown = progress({quiet: this.jsonEnabled()})
    const results = await runHealthChecks(loaded, {
      only: this.flags.check,
      onResult: (r) => shown.done(`health: ${r.name} ${r.status} (${elapsed(r.durationMs)})`),
      skipOptional: this.flags['skip-optional'],
      timeoutMs: this.flags.timeout * 1000,
    })
    const failed = failedRequired(results)
    if (!this.jsonEnabled()) {
      for (const line of formatHealthTable(results)) this.log(line)
      this.log('')
      this.log(
        failed.length === 0
          ? 'All health checks passed'
          : `Some health checks failed - please review the issues above (${failed.map((r) => r.name).join(', ')})`,
      )
    }

    if (failed.length > 0) process.exitCode = ExitCode.PREFLIGHT_REFUSED
    const finishedAt = new Date()
    await recordMetrics(
      {
        command: 'health',
        durationSeconds: (finishedAt.getTime() - started.getTime()) / 1000,
        finishedAt,
        health: results,
        success: failed.length === 0,
      },
      metrics,
    )
    return {healthy: failed.length === 0, results}
  }
}
