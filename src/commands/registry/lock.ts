import type {LockRegistryResult} from '@drc/core/kube/registry-relock.js'

import {BaseCommand} from '@drc/core/lib/base-command.js'
import {Flags} from '@oclif/core'

export default class RegistryLock extends BaseCommand<typeof RegistryLock> {
  static description = `Lock deletion on the in-cluster registry again after a drc run died unlocked (SIGKILL, a lost node).

Takes the deletion lease and restores the prior REGISTRY_STORAGE_DELETE_ENABLED setting that the dead run recorded
on it, exactly (an absent variable is removed again, "false" stays "false"); without a record it sets "false".
Then it waits for the registry StatefulSet to roll out, clears the record and releases the lease. Already locked:
nothing changes (exit 0). A lease that a live run holds and renews is refused (exit 3) unless --force; a holder
whose process on this host is gone is taken over without it. Never delete the lease by hand: it holds the record.`
  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --json',
    '<%= config.bin %> <%= command.id %> --force   # the lease holder is known to be gone',
  ]
  static flags = {
    force: Flags.boolean({
      description: 'Take over the deletion lease even though another drc run holds it (only when that run is gone).',
    }),
    namespace: Flags.string({description: 'Domino platform namespace (kubernetes.domino_platform_namespace).'}),
    timeout: Flags.integer({default: 300, description: 'Seconds the registry rollout may take.', min: 1}),
  }
  static summary = 'Lock registry deletion again, restoring the setting a dead run recorded.'

  protected configFlags(): Record<string, unknown> {
    return {'kubernetes.domino_platform_namespace': this.flags.namespace}
  }

  async run(): Promise<LockRegistryResult> {
    const config = await this.loadDrcConfig()
    const {inClusterRegistryClients, lockRegistry} = await import('@drc/core/kube/registry-relock.js')
    const clients = await inClusterRegistryClients(config)
    const result = await lockRegistry(config, {
      clients,
      force: this.flags.force,
      log: (m) => this.jsonEnabled() || this.logToStderr(m),
      rolloutTimeoutMs: this.flags.timeout * 1000,
    })
    if (result.tookOverFrom) this.log(`took over the deletion lease from ${result.tookOverFrom}`)
    this.log(result.summary)
    return result
  }
}
