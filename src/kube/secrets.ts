/** Decodes a Secret's `data` (every value base64) into plain strings. */
export function decodeSecretData(data: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(data ?? {})) out[key] = Buffer.from(value, 'base64').toString('utf8')
  return out
}

/** Names of the platform secrets drc reads credentials from (domain-spec §4.1, §4.2). */
export const PLATFORM_SECRETS = {
  keycloak: {name: 'keycloak-http', passwordKey: 'password'},
  mongo: {name: 'mongodb-replicaset-admin', passwordKey: 'password', userKey: 'user'},
} as const
