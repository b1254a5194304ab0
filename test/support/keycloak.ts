/* eslint-disable n/no-unsupported-features/node-builtins -- global fetch is available (unflagged) on Node 20, our floor */
/**
 * A real Keycloak (quarkus distribution) in `start-dev` mode with an in-memory H2 database (`--db=dev-mem`),
 * so instances never share the distribution's data/ directory. The first start after unzip also runs
 * Quarkus' build ("augmentation", ~20 s here); later starts reuse it.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {findJavaHome, keycloakHome} from './install.js'
import {portOrFree} from './ports.js'
import {httpAnswers, spawnService, waitUntil} from './proc.js'

export interface KeycloakHandle {
  adminPassword: string
  adminUser: string
  kind: 'external' | 'keycloak'
  /** The management (health) port, when started here. */
  managementPort?: number
  /** Settles when the server answers (already settled unless started with `background`). */
  ready: Promise<void>
  /** Milliseconds from spawn to ready (0 for an external server or while starting). */
  startMs: number
  stop(): Promise<void>
  url: string
}

export interface KeycloakStartOptions {
  adminPassword?: string
  adminUser?: string
  /** Return as soon as the process is spawned; `ready` settles when it answers (lets callers overlap its slow start). */
  background?: boolean
  /** Listen on these ports when they are free (a resumed sandbox keeps its Keycloak URL). */
  managementPort?: number
  port?: number
}

export async function startKeycloak(options: KeycloakStartOptions = {}): Promise<KeycloakHandle> {
  const adminUser = options.adminUser ?? 'admin'
  const adminPassword = options.adminPassword ?? 'admin-test-password'
  if (process.env.DRC_TEST_KEYCLOAK_URL) {
    return {
      adminPassword: process.env.DRC_TEST_KEYCLOAK_PASSWORD ?? adminPassword,
      adminUser: process.env.DRC_TEST_KEYCLOAK_USER ?? adminUser,
      kind: 'external',
      ready: Promise.resolve(),
      startMs: 0,
      async stop() {},
      url: process.env.DRC_TEST_KEYCLOAK_URL.replace(/\/$/, ''),
    }
  }

  const javaHome = findJavaHome()
  if (!javaHome) throw new Error('Keycloak needs Java ≥ 21; none found under /usr/lib/jvm (set DRC_TEST_JAVA_HOME)')
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'drc-keycloak-'))
  const [port, managementPort] = [await portOrFree(options.port), await portOrFree(options.managementPort)]
  const started = Date.now()
  const proc = spawnService(
    path.join(keycloakHome(), 'bin', 'kc.sh'),
    [
      'start-dev',
      '--db=dev-mem',
      '--http-host=127.0.0.1',
      `--http-port=${port}`,
      `--http-management-port=${managementPort}`,
    ],
    {
      env: {
        ...process.env,
        JAVA_HOME: javaHome,
        KC_BOOTSTRAP_ADMIN_PASSWORD: adminPassword,
        KC_BOOTSTRAP_ADMIN_USERNAME: adminUser,
      },
      logPath: path.join(workDir, 'keycloak.log'),
    },
  )
  const url = `http://127.0.0.1:${port}`
  const handle: KeycloakHandle = {
    adminPassword,
    adminUser,
    kind: 'keycloak',
    managementPort,
    ready: waitUntil(`Keycloak on ${url}`, () => httpAnswers(`${url}/realms/master`, (s) => s === 200), {
      intervalMs: 250,
      logPath: proc.logPath,
      process: proc,
      timeoutMs: 300_000,
    }).then(() => {
      handle.startMs = Date.now() - started
    }),
    startMs: 0,
    async stop() {
      await proc.stop(3000) // in-memory database: nothing to flush
      rmSync(workDir, {force: true, recursive: true})
    },
    url,
  }
  // A background start that is stopped early must not surface as an unhandled rejection.
  handle.ready.catch(() => {})
  if (!options.background) {
    try {
      await handle.ready
    } catch (error) {
      await handle.stop()
      throw error
    }
  }

  return handle
}

export async function adminToken(url: string, username: string, password: string): Promise<string> {
  const response = await fetch(`${url}/realms/master/protocol/openid-connect/token`, {
    body: new URLSearchParams({client_id: 'admin-cli', grant_type: 'password', password, username}),
    method: 'POST',
  })
  if (!response.ok)
    throw new Error(`Keycloak admin login at ${url} failed: HTTP ${response.status} ${await response.text()}`)
  return ((await response.json()) as {access_token: string}).access_token
}

export interface SeedUser {
  /** 24-hex ObjectId stored as attribute `domino-user-id: [id]`; omit for a user without it. */
  dominoUserId?: string
  enabled: boolean
  username: string
}

/** An admin REST call; 409 (already exists) counts as success, so seeding is idempotent. */
async function admin(
  {token, url}: {token: string; url: string},
  method: string,
  pathName: string,
  body?: unknown,
): Promise<Response> {
  const response = await fetch(`${url}/admin${pathName}`, {
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json'},
    method,
  })
  if (!response.ok && response.status !== 409) {
    throw new Error(`Keycloak ${method} ${pathName} failed: HTTP ${response.status} ${await response.text()}`)
  }

  return response
}

/**
 * Creates `realm` (default DominoRealm) and its users. Keycloak ≥ 24 drops attributes that its user profile
 * does not declare, so the realm's unmanaged-attribute policy is switched on first.
 */
export async function seedKeycloak(
  kc: Pick<KeycloakHandle, 'adminPassword' | 'adminUser' | 'url'>,
  users: SeedUser[],
  realm = 'DominoRealm',
): Promise<void> {
  const api = {token: await adminToken(kc.url, kc.adminUser, kc.adminPassword), url: kc.url}
  await admin(api, 'POST', '/realms', {enabled: true, realm})
  const profile = (await (await admin(api, 'GET', `/realms/${realm}/users/profile`)).json()) as Record<string, unknown>
  await admin(api, 'PUT', `/realms/${realm}/users/profile`, {...profile, unmanagedAttributePolicy: 'ENABLED'})
  for (const user of users) {
    // eslint-disable-next-line no-await-in-loop
    await admin(api, 'POST', `/realms/${realm}/users`, {
      attributes: user.dominoUserId ? {'domino-user-id': [user.dominoUserId]} : {},
      email: `${user.username}@example.test`,
      enabled: user.enabled,
      firstName: user.username,
      lastName: 'Test',
      username: user.username,
    })
  }
}
