import {
  BaseCommand,
  columnNames,
  connectKeycloak,
  connectMongo,
  DrcError,
  lazySecretReader,
  type TableColumn,
  tableFlags,
} from '@drc/core'

import {type DeactivatedUser, listDeactivatedUsers} from '../../users.js'

export interface DeactivatedUsersResult {
  users: DeactivatedUser[]
}

const COLUMNS: Array<TableColumn<DeactivatedUser>> = [
  {header: 'USERNAME', key: 'username', value: (u) => u.username},
  {header: 'EMAIL', key: 'email', value: (u) => u.email},
  {
    format: (v) => (v === null ? '(no domino-user-id)' : String(v)),
    header: 'DOMINO USER ID',
    key: 'dominoUserId',
    value: (u) => u.dominoUserId,
  },
  {
    align: 'right',
    header: 'PRIVATE ENVIRONMENTS',
    key: 'privateEnvironments',
    value: (u) => u.privateEnvironments.length,
  },
  {header: 'KEYCLOAK ID', key: 'keycloakId', value: (u) => u.keycloakId},
]

export default class DeactivatedUsers extends BaseCommand<typeof DeactivatedUsers> {
  static description = `List users disabled in Keycloak and the private environments they own in Domino.

Read-only. Users come from the Keycloak realm keycloak.realm (enabled = false); the Domino user id is the 'domino-user-id' attribute. Private environments are environments_v2 documents with visibility "Private" owned by that user. These are the candidates of the deactivated strategy.

Table columns (--columns, --sort): ${columnNames(COLUMNS)}.`
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']
  static flags = {...tableFlags}
  static summary = 'List users disabled in Keycloak and the private environments they own.'
  static tableColumns = COLUMNS

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
        await this.printTable(users, COLUMNS)
        this.logAside(`${users.length} deactivated users`)
      }

      return {users}
    } finally {
      await client.close()
    }
  }
}
