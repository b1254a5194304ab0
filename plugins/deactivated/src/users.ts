import type KeycloakAdminClient from '@keycloak/keycloak-admin-client'
import type {Db} from 'mongodb'

import {hexOf, loadIdFilter} from '@drc/core'

export interface DeactivatedUser {
  dominoUserId: null | string
  email: null | string
  keycloakId: string
  privateEnvironments: Array<{activeRevisionId: null | string; archived: boolean; id: string; name: string}>
  username: string
}

const PAGE = 100
const OBJECT_ID = /^[\da-f]{24}$/i

/** Every disabled user of the realm, paged (`pageSize` per request) so large realms are read completely. */
async function disabledUsers(keycloak: KeycloakAdminClient, pageSize: number) {
  const out = []
  for (let first = 0; ; first += pageSize) {
    // Pages depend on each other (stop at the first short page), so they are read one after another.
    // eslint-disable-next-line no-await-in-loop
    const page = await keycloak.users.find({briefRepresentation: false, enabled: false, first, max: pageSize})
    out.push(...page.filter((u) => u.enabled === false))
    if (page.length < pageSize) return out
  }
}

/**
 * Users disabled in Keycloak with the private environments (`visibility: "Private"`, archived or not) they own
 * in Domino. A user without a valid `domino-user-id` attribute is listed with a null id and owns nothing here.
 */
export async function listDeactivatedUsers(
  keycloak: KeycloakAdminClient,
  db: Db,
  opts: {pageSize?: number} = {},
): Promise<DeactivatedUser[]> {
  const users = (await disabledUsers(keycloak, opts.pageSize ?? PAGE)).map((u) => {
    const raw = u.attributes?.['domino-user-id']
    const id = Array.isArray(raw) ? raw[0] : raw
    return {
      dominoUserId: typeof id === 'string' && OBJECT_ID.test(id) ? id.toLowerCase() : null,
      email: u.email ?? null,
      keycloakId: u.id ?? '',
      privateEnvironments: [] as DeactivatedUser['privateEnvironments'],
      username: u.username ?? '',
    }
  })
  const byId = new Map(users.filter((u) => u.dominoUserId).map((u) => [u.dominoUserId!, u]))
  if (byId.size > 0) {
    // ownerId in any stored id shape (ObjectId, {value: ObjectId}, hex), as the usage graph reads ids.
    const idFilter = await loadIdFilter()
    const cursor = db
      .collection('environments_v2')
      .find(
        {$and: [idFilter('ownerId', byId.keys()), {visibility: 'Private'}]},
        {projection: {activeRevisionId: 1, isArchived: 1, name: 1, ownerId: 1}},
      )
    for await (const e of cursor) {
      const id = hexOf(e._id)
      const owner = byId.get(hexOf(e.ownerId) ?? '')
      if (id && owner)
        owner.privateEnvironments.push({
          activeRevisionId: hexOf(e.activeRevisionId),
          archived: e.isArchived === true,
          id,
          name: String(e.name ?? ''),
        })
    }
  }

  return users
}
