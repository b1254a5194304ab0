import {type Candidate, DeletionCommand, type PlanContext} from '@drc/core'
import {archiveFlag, inputFlag, narrowToInput, predecessorConfig, predecessorFlags, readPlanInput} from '@drc/core'

import {planDeactivated} from '../../plan.js'

export default class DeactivatedDelete extends DeletionCommand<typeof DeactivatedDelete> {
  // Whole environments: the active revision mark alone keeps nothing, at planning and at the re-check alike.
  static activeRevisionKeeps = false
  static description = `Delete the private environments of users deactivated in Keycloak, whole environments that nothing uses.

Dry run unless --apply. Deactivated users are the Keycloak users (realm keycloak.realm, read page by page) with enabled = false and a 'domino-user-id' attribute; their private environments are environments_v2 documents with visibility "Private" and that ownerId, archived or not. As for unused environments, the unit is the whole environment: one that nothing uses (project default or pin, scheduler job, organization or user default, app version, model version, existing workspace, session or run; with --unused-since-days N: none in the last N days; unknown age counts as in use) loses every revision image; one that anything uses keeps all of them. Right before each delete the image's usage is read again from MongoDB. With --mongo-cleanup the revisions (and the environment, once none remains) are removed, each saved whole for drc mongo restore; with --archive a non-archived environment whose every image was deleted is archived instead (isArchived: true, the previous document saved: drc mongo restore <audit report> undoes it).

--input narrows the plan to what a file names: an ObjectId file, a drc plan report or the predecessor's deactivated-user-envs.json; what is no candidate now is never planned.
Exit codes: 0 done, 1 failed, 2 usage error, 3 preflight refused (nothing changed), 4 some items failed, 130 cancelled.

Alias (the predecessor's name): drc delete_unused_private_environments`
  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --unused-since-days 90 --apply --backup',
    '<%= config.bin %> delete_unused_private_environments --apply --force --mongo-cleanup',
  ]
  static flags = {...predecessorFlags, archive: archiveFlag, input: inputFlag}
  // The predecessor's name keeps working for scripts; hidden so help lists each command once.
  static hiddenAliases = ['delete_unused_private_environments']
  static summary = 'Delete the unused private environments of users deactivated in Keycloak.'

  protected configFlags(): Record<string, unknown> {
    return predecessorConfig(this.flags)
  }

  async plan(ctx: PlanContext): Promise<Candidate[]> {
    // A base flag of DeletionCommand (its type is not inferred through the subclass).
    const unusedSinceDays = (this.flags as {'unused-since-days'?: number})['unused-since-days']
    const input = this.flags.input ? await readPlanInput(this.flags.input) : null
    const candidates = await planDeactivated(ctx, {archive: this.flags.archive, unusedSinceDays})
    return input ? narrowToInput(candidates, input, ctx.log) : candidates
  }
}
