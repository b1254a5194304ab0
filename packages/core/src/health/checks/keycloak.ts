import type {HealthCheck} from '../types.js'

import {errorMessage} from '../../lib/errors.js'
import {connectKeycloak, describeKeycloakError, keycloakConfigured} from '../../services/keycloak.js'

export const keycloakCheck: HealthCheck = {
  name: 'keycloak',
  optional: true,
  required: true,
  async run(ctx) {
    if (!keycloakConfigured(ctx.config))
      return {
        message: 'Keycloak not configured (no keycloak.url); deactivated users cannot be looked up',
        required: false,
        status: 'skipped',
      }
    const {admin_realm: adminRealm, realm, url, username} = ctx.config.keycloak
    const details: Record<string, unknown> = {admin_realm: adminRealm, realm, url, username}
    const client = await connectKeycloak(ctx.config, {readSecret: ctx.readSecret, timeoutMs: ctx.timeoutMs})
    // A token alone does not prove drc can see Domino's users: read the user count of their realm.
    try {
      details.users_count = await client.users.count()
    } catch (error) {
      const status = (error as {response?: {status?: number}}).response?.status
      return {
        details: {...details, status},
        message: `Logged in to Keycloak at ${url}, but cannot read users of realm ${realm}: ${status ? describeKeycloakError(error) : errorMessage(error)}`,
        status: 'unhealthy',
        suggestions:
          status === 404
            ? ['check keycloak.realm (KEYCLOAK_REALM): the realm of Domino users (default DominoRealm)']
            : [`give the admin user '${username}' the view-users role of realm ${realm}`],
      }
    }

    return {
      details,
      message: `Successfully obtained a Keycloak admin token from ${url} (user ${username}) and read realm ${realm} (${details.users_count} users)`,
      status: 'healthy',
    }
  },
}
