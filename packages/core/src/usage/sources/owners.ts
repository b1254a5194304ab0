import type {Owner, TagUsage} from '../types.js'
import type {ReadContext} from './context.js'

import {hexOf} from '../tags.js'

/** Ids per `$in` query: one chunk at a time keeps each query bounded. */
const CHUNK = 1000

export function owner(id: null | string): null | Owner {
  return id ? {id} : null
}

/** Fills in the names and logins of the tags' owners from the optional `users` collection. */
export async function readOwnerNames(ctx: ReadContext, tags: Iterable<TagUsage>): Promise<void> {
  const owners = new Map<string, Owner[]>()
  for (const u of tags) {
    if (u.owner) owners.set(u.owner.id, [...(owners.get(u.owner.id) ?? []), u.owner])
  }

  const ownerIds = [...owners.keys()]
  for (let i = 0; i < ownerIds.length; i += CHUNK) {
    // eslint-disable-next-line no-await-in-loop -- one chunk of ids at a time keeps each $in query bounded
    for await (const d of ctx.reader.find('users', ctx.idFilter('_id', ownerIds.slice(i, i + CHUNK)), {
      fullName: 1,
      'loginId.id': 1,
    })) {
      for (const o of owners.get(hexOf(d._id) ?? '') ?? []) {
        o.name = typeof d.fullName === 'string' ? d.fullName : undefined
        o.login = typeof d.loginId?.id === 'string' ? d.loginId.id : undefined
      }
    }
  }
}
