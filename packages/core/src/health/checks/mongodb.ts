import type {HealthCheck} from '../types.js'

import {connectMongo, resolveMongoTarget} from '../../services/mongo.js'
import {OPTIONAL_COLLECTIONS as USAGE_OPTIONAL, REQUIRED_COLLECTIONS as USAGE_REQUIRED} from '../../usage/reader.js'

/**
 * The usage graph's required collections (if one is missing, "in use" cannot be decided: fail closed), and
 * `users`, which the check has always demanded too: without it reports lose every owner's name and login.
 */
export const REQUIRED_COLLECTIONS = [...USAGE_REQUIRED, 'users'] as const

/** Read when present; a deployment may legitimately lack them (organizations, for example). */
export const OPTIONAL_COLLECTIONS = USAGE_OPTIONAL.filter((c) => c !== 'users')

export const mongodbCheck: HealthCheck = {
  name: 'mongodb',
  optional: false,
  required: true,
  async run(ctx) {
    const target = await resolveMongoTarget(ctx.config, {readSecret: ctx.readSecret})
    const details: Record<string, unknown> = {database: target.database, uri: target.redacted}
    // The driver waits the whole selection timeout even when the port refuses connections: 5 s is ample for a
    // reachable server, and stays inside the check's own deadline so the driver's error (naming the server) wins.
    const {client, db} = await connectMongo(ctx.config, {
      readSecret: ctx.readSecret,
      serverSelectionTimeoutMS: Math.max(500, Math.min(5000, ctx.timeoutMs - 1000)),
    })
    // A server that accepted the connection and then stalls must not outlive the check's deadline.
    const onAbort = () => {
      client.close().catch(() => {})
    }

    ctx.signal.addEventListener('abort', onAbort, {once: true})
    try {
      await db.command({ping: 1})
      const names = new Set((await db.listCollections({}, {nameOnly: true}).toArray()).map((c) => c.name))
      details.collections_count = names.size
      const missing = REQUIRED_COLLECTIONS.filter((c) => !names.has(c))
      details.missing_optional_collections = OPTIONAL_COLLECTIONS.filter((c) => !names.has(c))
      if (missing.length > 0) {
        details.missing_collections = missing
        return {
          details,
          message: `Connected to MongoDB ${target.redacted}, but database '${target.database}' lacks ${missing.join(', ')}: usage cannot be read, so nothing would be deleted`,
          status: 'unhealthy',
          suggestions: ["check mongo.db (MONGODB_DB): it must be Domino's database (default 'domino')"],
        }
      }

      return {
        details,
        message: `Successfully connected to MongoDB ${target.redacted}, database '${target.database}' (${names.size} collections)`,
        status: 'healthy',
      }
    } finally {
      ctx.signal.removeEventListener('abort', onAbort)
      await client.close()
    }
  },
}
