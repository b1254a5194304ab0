import {type Candidate, connectKeycloak, DeletionCommand, DrcError, lazySecretReader, type PlanContext} from '@drc/core'
import {predecessorConfig, predecessorFlags} from '@drc/core'

import {planPrivateEnvironments} from '../../private-environments.js'
import {listDeactivatedUsers} from '../../users.js'

export default class DeactivatedDelete extends DeletionCommand<typeof DeactivatedDelete> {
  // Whole environments: the active revision mark alone keeps nothing, at planning and at the re-check alike.
  static activeRevisionKeeps = false
  static description = `Delete the private environments of users deactivated in Keycloak, whole environments that nothing uses.

Dry run unless --apply. Deactivated users are the Keycloak users (realm keycloak.realm, read page by page) with enabled = false and a 'domino-user-id' attribute; their private environments are environments_v2 documents with visibility "Private" and that ownerId, archived or not. As for unused environments, the unit is the whole environment: one that nothing uses (project default or pin, scheduler job, organization or user default, app version, model version, existing workspace, session or run; with --unused-since-days N: none in the last N days; unknown age counts as in use) loses every revision image; one that anything uses keeps all of them. Right before each delete the image's usage is read again from MongoDB. With --mongo-cleanup the revisions (and the environment, once none remains) are removed, each saved whole for drc mongo restore.
Exit codes: 0 done, 1 failed, 2 usage error, 3 preflight refused (nothing changed), 4 some items failed, 130 cancelled.

Alias (the predecessor's name): drc delete_unused_private_environments`
  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --unused-since-days 90 --apply --backup',
    '<%= config.bin %> delete_unused_private_environments --apply --force --mongo-cleanup',
  ]
  static flags = {...predecessorFlags}
  // The predecessor's name keeps working for scripts; hidden so help lists each command once.
  static hiddenAliases = ['delete_unused_private_environments']
  static summary = 'Delete the unused private environments of users deactivated in Keycloak.'

  protected configFlags(): Record<string, unknown> {
    return predecessorConfig(this.flags)
  }

  async plan({config, db, log}: PlanContext): Promise<Candidate[]> {
    if (!config.keycloak.url)
      throw new DrcError('Keycloak is not configured: this strategy needs to know which users are deactivated', {
        suggestions: [
          'set keycloak.url (KEYCLOAK_URL) and the admin credentials (KEYCLOAK_USERNAME / KEYCLOAK_PASSWORD)',
        ],
      })
    const keycloak = await connectKeycloak(config, {readSecret: lazySecretReader(config)})
    const users = await listDeactivatedUsers(keycloak, db)
    const unnamed = users.filter((u) => !u.dominoUserId).length
    if (unnamed > 0) log(`${unnamed} deactivated users have no domino-user-id attribute: ignored`)
    const rules = {
      gracePeriodDays: config.usage.grace_period_days,
      now: new Date(),
      // A base flag of DeletionCommand (its type is not inferred through the subclass).
      unusedSinceDays: (this.flags as {'unused-since-days'?: number})['unused-since-days'],
    }
    const {candidates, kept} = await planPrivateEnvironments(db, users, {
      defaultRepository: `${config.registry.repository}/environment`,
      rules,
    })
    for (const k of kept)
      log(`kept private environment ${k.environmentId} "${k.name}" of ${k.owner}: ${k.reasons.join('; ')}`)
    return candidates
  }
}
