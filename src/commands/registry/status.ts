import type {LockVerdict} from '@drc/core/kube/lock-verdict.js'
import type {RegistryLockState} from '@drc/core/kube/registry-state.js'

import {BaseCommand} from '@drc/core/lib/base-command.js'
import {ExitCode} from '@drc/core/lib/exit-codes.js'
import {Flags} from '@oclif/core'

export default class RegistryStatus extends BaseCommand<typeof RegistryStatus> {
  static description = `Show whether deletion is locked on the in-cluster registry and what the deletion lease says.

Read-only. Reports the REGISTRY_STORAGE_DELETE_ENABLED setting of the registry StatefulSet (and pods still running
an older one during a rollout), the lease holder, its renew and expiry times, and the prior setting a run recorded.
Exit code 3 when deletion is unlocked and no live drc run explains it (the same verdict as \`drc health\`), else 0.`
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']
  static flags = {
    namespace: Flags.string({description: 'Domino platform namespace (kubernetes.domino_platform_namespace).'}),
  }
  static summary = 'Show the deletion lock of the in-cluster registry and its lease.'

  protected configFlags(): Record<string, unknown> {
    return {'kubernetes.domino_platform_namespace': this.flags.namespace}
  }

  async run(): Promise<{state: RegistryLockState; verdict: LockVerdict}> {
    const config = await this.loadDrcConfig()
    const {registryLockStatus} = await import('@drc/core/kube/registry-relock.js')
    const status = await registryLockStatus(config)
    const {lease} = status.state
    this.log(status.verdict.message)
    this.log(
      `lease ${lease.namespace}/${lease.name}: ${lease.state}${lease.holder ? `, holder ${lease.holder}` : ''}${lease.renewTime ? `, renewed ${lease.renewTime}` : ''}${lease.expiresAt ? `, valid until ${lease.expiresAt}` : ''}`,
    )
    for (const s of status.verdict.suggestions) this.log(`→ ${s}`)
    if (!status.verdict.healthy) process.exitCode = ExitCode.PREFLIGHT_REFUSED
    return status
  }
}
