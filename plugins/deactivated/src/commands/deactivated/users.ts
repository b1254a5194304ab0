import {BaseCommand, connectKeycloak, connectMongo, DrcError, lazySecretReader} from 'drc'

import {type DeactivatedUser, listDeactivatedUsers} from '../../users.js'

export interface DeactivatedUsersResult {
  users: DeactivatedUser[]
}

export default class DeactivatedUsers extends BaseCommand<typeof DeactivatedUsers> {
  static description = `List users disabled in Keycloak and the private environments they own in Domino.

Read-only. Users come from the Keycloak realm keycloak.realm (enabled = false); the Domino user id is the
'domino-user-id' attribute. Private environments are environments_v2 documents with visibility "Private"
owned by that user. These are the candidates of the deactivated strategy.`
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']

  async run(): Promise<DeactivatedUsersResult> {
    const config = await this.loadDrcConfig()
    if (!config.keycloak.url)
      throw new DrcError('Keycloak is not configured: this strategy needs to know which users are deactivated', {
        suggestions: [
          'set keycloak.url (KEYCLOAK_URL) and the admin credentials (KEYCLOAK_USERNAME / KEYCLOAK_PASSWORD)',
        ],
      })
    const readSecret = lazySecretReader(config)
    const keycloak = await connectKeycloak(config, {readSecret})
    const {client, db} = await connectMongo(config, {readSecret})
    try {
      const users = await listDeactivatedUsers(keycloak, db)
      if (!this.jsonEnabled()) {
        for (const u of users)
          this.log(
            `${(u.email ?? u.username).padEnd(32)} ${u.dominoUserId ?? '(no domino-user-id)'}  ${u.privateEnvironments.length} private environments`,
          )
        this.log(`${users.length} deactivated users`)
      }

      return {users}
    } finally {
      await client.close()
    }
  }
}
