import type KeycloakAdminClient from '@keycloak/keycloak-admin-client'

import type {DrcConfig} from '../config/types.js'
import type {SecretReader} from '../kube/client.js'

import {PLATFORM_SECRETS, readPasswordSecret} from '../kube/secrets.js'
import {DrcError, errorMessage} from '../lib/errors.js'

export interface KeycloakConnectOptions {
  /** Fallback for the admin password: reads the `keycloak-http` secret of the platform namespace. */
  readSecret?: SecretReader
  /** Timeout of each request, the login included (default 30 s; the library has none of its own). */
  timeoutMs?: number
}

/** Is Keycloak configured at all? Without a URL, drc does not use it. */
export function keycloakConfigured(config: Pick<DrcConfig, 'keycloak'>): boolean {
  return Boolean(config.keycloak.url)
}

async function adminPassword(
  config: Pick<DrcConfig, 'keycloak' | 'kubernetes'>,
  opts: KeycloakConnectOptions,
): Promise<string> {
  if (config.keycloak.password) return config.keycloak.password
  const missing = 'Keycloak admin password is not set (keycloak.password / KEYCLOAK_PASSWORD)'
  const data = await readPasswordSecret({
    configHint: 'set keycloak.password (or KEYCLOAK_PASSWORD)',
    missing,
    namespace: config.kubernetes.domino_platform_namespace,
    noAccess: missing,
    readSecret: opts.readSecret,
    secret: PLATFORM_SECRETS.keycloak,
  })
  return data[PLATFORM_SECRETS.keycloak.passwordKey]
}

/**
 * The Keycloak admin client factory: logs in as the admin (password grant, client `admin-cli`) in
 * keycloak.admin_realm, then points the client at keycloak.realm (Domino's users). The library is
 * imported here so start-up stays fast.
 */
export async function connectKeycloak(
  config: Pick<DrcConfig, 'keycloak' | 'kubernetes'>,
  opts: KeycloakConnectOptions = {},
): Promise<KeycloakAdminClient> {
  const {url, username} = config.keycloak
  if (!url)
    throw new DrcError('Keycloak is not configured (keycloak.url / KEYCLOAK_URL is empty)', {
      suggestions: ['set keycloak.url, e.g. https://keycloak.example.com/auth'],
    })
  const password = await adminPassword(config, opts)
  const {default: KcAdminClient} = await import('@keycloak/keycloak-admin-client')
  const client = new KcAdminClient({
    baseUrl: url.replace(/\/+$/, ''),
    realmName: config.keycloak.admin_realm,
    timeout: opts.timeoutMs ?? 30_000,
  })
  try {
    await client.auth({clientId: 'admin-cli', grantType: 'password', password, username})
  } catch (error) {
    throw new DrcError(
      `cannot log in to Keycloak at ${url} as '${username}' (realm ${config.keycloak.admin_realm}): ${describeKeycloakError(error)}`,
      {
        cause: error,
        suggestions: [
          'check keycloak.url (it must include the context path, e.g. /auth, when the server uses one)',
          'check keycloak.username / keycloak.password (KEYCLOAK_USERNAME / KEYCLOAK_PASSWORD) and keycloak.admin_realm',
        ],
      },
    )
  }

  client.setConfig({realmName: config.keycloak.realm})
  return client
}

/** The library throws NetworkError with `response`; show the HTTP status and the OAuth error text when present. */
export function describeKeycloakError(error: unknown): string {
  const response = (error as undefined | {response?: {status?: number}; responseData?: unknown})?.response
  const data = (error as {responseData?: unknown}).responseData as
    undefined | {error?: string; error_description?: string}
  if (response?.status) {
    const detail = data?.error_description ?? data?.error
    return detail ? `HTTP ${response.status}: ${detail}` : `HTTP ${response.status}`
  }

  const {cause} = error as {cause?: unknown}
  return cause ? `${errorMessage(error)} (${errorMessage(cause)})` : errorMessage(error)
}
