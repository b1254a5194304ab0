import type {Db} from 'mongodb'

import {hexOf} from '@drc/core'

/**
 * Revision id → environment id for the active revision of every environment, archived ones included: MongoDB
 * without an environment's active revision breaks that environment in Domino, whatever the registry holds.
 */
export async function activeRevisionIds(db: Db): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  const cursor = db
    .collection('environments_v2')
    .find({activeRevisionId: {$exists: true}}, {projection: {_id: 1, activeRevisionId: 1}})
  for await (const e of cursor) {
    const rev = hexOf(e.activeRevisionId)
    if (rev) out.set(rev, hexOf(e._id) ?? String(e._id))
  }

  return out
}
