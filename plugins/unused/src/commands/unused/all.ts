import {type Candidate, DeletionCommand, type DeletionFlags, type PlanContext} from '@drc/core'
import {archiveFlag, predecessorConfig, predecessorFlags} from '@drc/core'

import {loadPlanDeactivated, mergeCandidates} from '../../deactivated-plugin.js'
import {findUnusedEnvironments} from '../../unused.js'
import {environmentCandidates} from './delete.js'

export default class UnusedAll extends DeletionCommand<typeof UnusedAll> {
  // Whole environments, as in both strategies: the active revision mark alone keeps nothing.
  static activeRevisionKeeps = false
  static description = `Delete the unused environments, then the unused private environments of users deactivated in Keycloak, in one run.

One lifecycle for both strategies: one plan (unused environments first, as drc unused delete plans them, then those of drc deactivated delete; an image both name is planned once, with both reasons), one confirmation, one backup, one registry unlock, one audit report. Needs both plugins: without @drc/plugin-deactivated the command refuses (exit 2) and names the install command; drc unused delete does the first part alone.

Every rule of the two strategies holds: whole environments (active revision included), usage read again right before each delete, clone sources and shared digests kept. --unused-since-days and --archive (archive each environment whose every image was deleted, undone by drc mongo restore) apply to both.
Exit codes: 0 done, 1 failed, 2 usage error (e.g. a plugin missing), 3 preflight refused (nothing changed), 4 some items failed, 130 cancelled.

Alias (the predecessor's name): drc delete_all_unused_environments`
  static examples = [
    '<%= config.bin %> <%= command.id %> --unused-since-days 90',
    '<%= config.bin %> <%= command.id %> --unused-since-days 90 --apply --backup --mongo-cleanup',
  ]
  static flags = {...predecessorFlags, archive: archiveFlag}
  static hiddenAliases = ['delete_all_unused_environments']
  static summary = 'Unused environments and disabled users’ unused private ones, in one run.'

  protected configFlags(): Record<string, unknown> {
    return predecessorConfig(this.flags)
  }

  async plan(ctx: PlanContext): Promise<Candidate[]> {
    // First, so that a missing plugin refuses before MongoDB is read.
    const planDeactivated = await loadPlanDeactivated(this.config)
    const unusedSinceDays = (this.flags as unknown as Partial<DeletionFlags>)['unused-since-days']
    const rules = {gracePeriodDays: ctx.config.usage.grace_period_days, now: new Date(), unusedSinceDays}
    const found = await findUnusedEnvironments(ctx.db, rules)
    ctx.log(`unused environments: ${found.unused.length} of ${found.checked} non-archived environments`)
    const unused = environmentCandidates(found.unused, {archive: this.flags.archive})
    const deactivated = await planDeactivated(ctx, {archive: this.flags.archive, unusedSinceDays})
    ctx.log(`deactivated users' private environments: ${deactivated.length} images`)
    return mergeCandidates(unused, deactivated)
  }
}
