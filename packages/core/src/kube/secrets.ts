import type {SecretReader} from './client.js'

import {DrcError, errorMessage} from '../lib/errors.js'

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

export interface PasswordSecretRequest {
  /** Where the operator can set the password instead, e.g. 'set mongo.password (or MONGODB_PASSWORD)'. */
  configHint: string
  /** The problem when the secret cannot be read either, e.g. 'MongoDB password is not set (…)'. */
  missing: string
  namespace: string
  /** The error message when there is no Kubernetes access at all. */
  noAccess: string
  readSecret?: SecretReader
  secret: {name: string; passwordKey: string}
}

/**
 * The fallback for a password missing from the configuration: the decoded data of a platform secret that has
 * the password key. Every failure is a DrcError naming the secret and both ways to fix it.
 */
export async function readPasswordSecret(req: PasswordSecretRequest): Promise<Record<string, string>> {
  const {namespace, secret} = req
  const hints = [
    req.configHint,
    `or give drc read access to secret ${namespace}/${secret.name} (kubernetes.kubeconfig / KUBECONFIG, or run in the cluster)`,
  ]
  if (!req.readSecret) throw new DrcError(req.noAccess, {suggestions: hints})
  let data: Record<string, string>
  try {
    data = await req.readSecret(namespace, secret.name)
  } catch (error) {
    throw new DrcError(
      `${req.missing} and failed to load from Kubernetes secret ${namespace}/${secret.name}: ${errorMessage(error)}`,
      {cause: error, suggestions: hints},
    )
  }

  if (!data[secret.passwordKey])
    throw new DrcError(`Kubernetes secret ${namespace}/${secret.name} has no '${secret.passwordKey}' key`, {
      suggestions: hints,
    })
  return data
}
