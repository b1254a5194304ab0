import type KeycloakAdminClient from '@keycloak/keycloak-admin-client'
import type {Db} from 'mongodb'

export interface DeactivatedUser {
  dominoUserId: null | string
  email: null | string
  keycloakId: string
  privateEnvironments: Array<{id: string; name: string}>
  username: string
}

const PAGE = 100
const OBJECT_ID = /^[\da-f]{24}$/i

/** Every disabled user of the realm, paged so large realms are read completely. */
async function disabledUsers(keycloak: KeycloakAdminClient) {
  const out = []
  for (let first = 0; ; first += PAGE) {
    // Pages depend on each other (stop at the first short page), so they are read one after another.
    // eslint-disable-next-line no-await-in-loop
    const page = await keycloak.users.find({briefRepresentation: false, enabled: false, first, max: PAGE})
    out.push(...page.filter((u) => u.enabled === false))
    if (page.length < PAGE) return out
  }
}

export async function listDeactivatedUsers(keycloak: KeycloakAdminClient, db: Db): Promise<DeactivatedUser[]> {
  const users = (await disabledUsers(keycloak)).map((u) => {
    const raw = u.attributes?.['domino-user-id']
    const id = Array.isArray(raw) ? raw[0] : raw
    return {
      dominoUserId: typeof id === 'string' && OBJECT_ID.test(id) ? id.toLowerCase() : null,
      email: u.email ?? null,
      keycloakId: u.id ?? '',
      privateEnvironments: [] as Array<{id: string; name: string}>,
      username: u.username ?? '',
    }
  })
  const byId = new Map(users.filter((u) => u.dominoUserId).map((u) => [u.dominoUserId!, u]))
  if (byId.size > 0) {
    const {ObjectId} = await import('mongodb')
    const cursor = db
      .collection('environments_v2')
      .find(
        {ownerId: {$in: [...byId.keys()].map((id) => new ObjectId(id))}, visibility: 'Private'},
        {projection: {name: 1, ownerId: 1}},
      )
    for await (const e of cursor)
      byId.get(String(e.ownerId))?.privateEnvironments.push({id: String(e._id), name: String(e.name ?? '')})
  }

  return users
}
