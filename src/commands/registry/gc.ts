import type {RegistryGcResult} from '@drc/core/kube/registry-gc.js'

import {BaseCommand} from '@drc/core/lib/base-command.js'
import {DrcError, UsageError} from '@drc/core/lib/errors.js'
import {ExitCode} from '@drc/core/lib/exit-codes.js'
import {Flags} from '@oclif/core'

export type RegistryGcOutput = RegistryGcResult & {delete_untagged_reason: string}

export default class RegistryGc extends BaseCommand<typeof RegistryGc> {
  static description = `Runs \`registry garbage-collect <kubernetes.registry_config_path>\` on the in-cluster registry's storage,
as a Kubernetes Job on the registry's volume (its image, environment and volumes), with the registry read-only
(REGISTRY_STORAGE_MAINTENANCE_READONLY={"enabled": true}, rolled out) for the duration. The read-only setting is
put back exactly as it was on every path: success, Job failure, SIGINT/SIGTERM (a record on the drc-registry-gc
lease lets the next run restore it after a kill). --delete-untagged is used only when a fresh scan of the
catalog finds no OCI index / manifest list (their child manifests are untagged and would be deleted).
Prints the freed bytes measured on the storage. Exit 1 when GC did not complete (also: registry not in the cluster).`
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']
  static flags = {
    'keep-untagged': Flags.boolean({description: 'Never pass --delete-untagged (untagged manifests stay).'}),
    namespace: Flags.string({description: 'Domino platform namespace (kubernetes.domino_platform_namespace).'}),
    'registry-statefulset': Flags.string({description: 'Registry workload (kubernetes.registry_statefulset).'}),
    timeout: Flags.integer({default: 3600, description: 'Seconds the GC Job may run.', min: 1}),
  }
  static hiddenAliases = ['run_registry_gc']
  static summary = 'Garbage-collect the registry (read-only meanwhile) to free deleted blobs.'

  protected configFlags(): Record<string, unknown> {
    return {
      'kubernetes.domino_platform_namespace': this.flags.namespace,
      'kubernetes.registry_statefulset': this.flags['registry-statefulset'],
    }
  }

  async run(): Promise<RegistryGcOutput> {
    const config = await this.loadDrcConfig()
    const [{inClusterRegistryClients}, {runRegistryGc}, {scanForGcSafety}, {humanBytes}] = await Promise.all([
      import('@drc/core/kube/registry-relock.js'),
      import('@drc/core/kube/registry-gc.js'),
      import('@drc/core/analysis/gc-safety.js'),
      import('@drc/core/reports/format.js'),
    ])
    try {
      await inClusterRegistryClients(config)
    } catch (error) {
      if (error instanceof UsageError)
        throw new DrcError(error.message.replace('drc has no lock to set', 'drc cannot garbage-collect it'), {
          exitCode: ExitCode.FAILURE,
          suggestions: error.suggestions,
        })
      throw error
    }

    const safety = this.flags['keep-untagged']
      ? {deleteUntagged: false, reason: 'without --delete-untagged: --keep-untagged'}
      : await scanForGcSafety(config)
    if (!this.jsonEnabled()) this.logToStderr(safety.reason)
    const result = await runRegistryGc(config, {
      deleteUntagged: safety.deleteUntagged,
      jobTimeoutSeconds: this.flags.timeout,
      log: (m) => this.jsonEnabled() || this.logToStderr(m),
    })
    this.log(
      `garbage collection done (Job ${result.namespace}/${result.job}): freed ${result.measured_freed_bytes === null ? 'unknown (storage not a local directory)' : humanBytes(result.measured_freed_bytes)}; registry writable again`,
    )
    return {...result, delete_untagged_reason: safety.reason}
  }
}
