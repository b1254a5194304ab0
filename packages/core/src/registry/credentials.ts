import type {DrcConfig} from '../config/types.js'

import {UsageError} from '../lib/errors.js'

export interface RegistryCredentials {
  password: string
  username: string
}

/** Where credentials come from; `refresh` re-fetches expiring ones (ECR tokens) after a 401. */
export interface CredentialSource {
  describe: string
  get(): Promise<null | RegistryCredentials>
  refresh?(): Promise<null | RegistryCredentials>
}

/** Reads a Kubernetes secret's `data` (base64 values); null when absent. Injected so this module needs no cluster. */
export type ReadSecret = (namespace: string, name: string) => Promise<null | Record<string, string>>

export const DOMINO_REGISTRY_SECRET = 'domino-registry'

export const ANONYMOUS: CredentialSource = {describe: 'anonymous', get: async () => null}

export function staticCredentials(username: string, password: string, describe: string): CredentialSource {
  const creds = {password, username}
  return {describe, get: async () => creds}
}

/** Host of a registry URL without scheme, port or path: what dockerconfigjson entries are matched against. */
export function registryHost(url: string): string {
  return url
    .replace(/^[a-z]+:\/\//i, '')
    .split('/')[0]
    .replace(/:\d+$/, '')
    .toLowerCase()
}

/**
 * Credentials for `url` from a dockerconfigjson secret's data. An entry matches when its host equals ours or
 * contains it (the predecessor's rule; entries are often written with a port or scheme). Any malformed input → null.
 */
export function credentialsFromDockerConfig(data: Record<string, string>, url: string): null | RegistryCredentials {
  try {
    const raw = data['.dockerconfigjson']
    if (!raw) return null
    const doc = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as {
      auths?: Record<string, {auth?: string; password?: string; username?: string}>
    }
    const host = registryHost(url)
    for (const [entry, value] of Object.entries(doc.auths ?? {})) {
      const entryHost = registryHost(entry)
      if (entryHost !== host && !entryHost.includes(host)) continue
      if (value.username && value.password) return {password: value.password, username: value.username}
      if (value.auth) {
        const decoded = Buffer.from(value.auth, 'base64').toString('utf8')
        const colon = decoded.indexOf(':')
        if (colon > 0) return {password: decoded.slice(colon + 1), username: decoded.slice(0, colon)}
      }
    }
  } catch {
    return null
  }

  return null
}

export function isEcrHost(url: string): boolean {
  return /\.amazonaws\.com(\.cn)?$/.test(registryHost(url))
}

/** Region of an ECR host (`<acct>.dkr.ecr.<region>.amazonaws.com`), else AWS_REGION / AWS_DEFAULT_REGION / us-east-1. */
export function ecrRegion(url: string, env: NodeJS.ProcessEnv = process.env): string {
  const labels = registryHost(url).split('.')
  if (isEcrHost(url) && labels.length >= 4) return labels.at(-3)!
  return env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1'
}

/** ECR: GetAuthorizationToken gives base64 `AWS:<password>`, valid 12 h; refreshed on 401. */
export function ecrCredentials(url: string, env: NodeJS.ProcessEnv = process.env): CredentialSource {
  let cached: null | RegistryCredentials = null
  const fetchToken = async (): Promise<RegistryCredentials> => {
    const {ECRClient, GetAuthorizationTokenCommand} = await import('@aws-sdk/client-ecr')
    const client = new ECRClient({
      endpoint: env.AWS_ENDPOINT_URL_ECR ?? env.AWS_ENDPOINT_URL,
      region: ecrRegion(url, env),
    })
    try {
      const out = await client.send(new GetAuthorizationTokenCommand({}))
      const token = out.authorizationData?.[0]?.authorizationToken
      if (!token) throw new Error('GetAuthorizationToken returned no token')
      const decoded = Buffer.from(token, 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      cached = {password: decoded.slice(colon + 1), username: decoded.slice(0, colon)}
      return cached
    } finally {
      client.destroy()
    }
  }

  return {
    describe: `ECR token (${ecrRegion(url, env)})`,
    get: async () => cached ?? fetchToken(),
    refresh: fetchToken,
  }
}

/**
 * Resolves registry credentials in the predecessor's order: configuration / environment
 * (registry.username + registry.password), then the secret named by registry.auth_secret, then the
 * `domino-registry` secret, then ECR by hostname, else anonymous.
 */
export async function resolveCredentials(
  config: DrcConfig,
  opts: {env?: NodeJS.ProcessEnv; readSecret?: ReadSecret} = {},
): Promise<CredentialSource> {
  const {password, url, username} = config.registry
  if (password && !username) {
    throw new UsageError('registry.password is set but registry.username is not', [
      'set REGISTRY_USERNAME (or registry.username) together with the password',
    ])
  }

  if (username && password) return staticCredentials(username, password, 'registry.username/password')
  if (opts.readSecret) {
    const namespace = config.kubernetes.domino_platform_namespace
    const names = config.registry.auth_secret
      ? [config.registry.auth_secret, DOMINO_REGISTRY_SECRET]
      : [DOMINO_REGISTRY_SECRET]
    for (const name of names) {
      // A secret that cannot be read is not an error here: the registry may allow anonymous access.
      // eslint-disable-next-line no-await-in-loop
      const data = await opts.readSecret(namespace, name).catch(() => null)
      const creds = data ? credentialsFromDockerConfig(data, url) : null
      if (creds) return staticCredentials(creds.username, creds.password, `secret ${namespace}/${name}`)
    }
  }

  if (isEcrHost(url)) return ecrCredentials(url, opts.env)
  return ANONYMOUS
}
