/* eslint-disable n/no-unsupported-features/node-builtins -- global fetch is available (unflagged) on Node 20, our floor */
import crypto from 'node:crypto'

import type {HealthCheckName, HealthResult} from '../../packages/core/src/health/types.js'

import {loadConfig} from '../../packages/core/src/config/load.js'
import {runHealthChecks} from '../../packages/core/src/health/run.js'
import {type Harness, services, type ServiceSettings, startAll} from '../support/harness.js'
import {pushBlob} from '../support/registry-push.js'

let own: Harness | undefined
let settings: ServiceSettings | undefined

/**
 * The shared services: those of the mocha global setup when it ran (DRC_TEST_SERVICES), else started here
 * once for this process (Keycloak included) and stopped by {@link stopOwnServices}.
 */
export async function testServices(): Promise<ServiceSettings> {
  if (settings) return settings
  if (process.env.DRC_TEST_SERVICES) settings = services()
  else {
    own = await startAll({keycloak: true})
    settings = own.settings
  }

  return settings
}

export async function stopOwnServices(): Promise<void> {
  await own?.stopAll()
  own = undefined
  settings = undefined
}

/** A repository prefix no other test uses, so tag counts are this test's own. */
export function uniqueRepo(prefix = 'health'): string {
  return `${prefix}-${crypto.randomBytes(4).toString('hex')}`
}

/** Environment that points drc at the shared services (everything healthy); override per test. */
export function healthyEnv(s: ServiceSettings, repository: string, database: string): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: s.s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s.s3.secretAccessKey,
    DOMINO_PLATFORM_NAMESPACE: s.kube.namespace,
    DRC_MONGO_URI: s.mongo.uri,
    DRC_REGISTRY_IN_CLUSTER: 'true',
    DRC_REGISTRY_STATEFULSET: s.kube.statefulset,
    DRC_S3_ENDPOINT: s.s3.endpoint,
    KUBECONFIG: s.kube.kubeconfig,
    MONGODB_DB: database,
    REGISTRY_URL: s.registry.url,
    REPOSITORY: repository,
    S3_BUCKET: s.s3.bucket,
    S3_REGION: s.s3.region,
    ...(s.keycloak
      ? {
          KEYCLOAK_PASSWORD: s.keycloak.adminPassword,
          KEYCLOAK_URL: s.keycloak.url,
          KEYCLOAK_USERNAME: s.keycloak.adminUser,
        }
      : {}),
  }
}

/** Runs the named checks in this process with exactly `env` as the environment (no ~/.kube, no CONFIG_FILE search). */
export async function check(
  env: Record<string, string | undefined>,
  only?: HealthCheckName[],
  timeoutMs = 10_000,
): Promise<HealthResult[]> {
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv
  // HOME without ~/.kube/config, so "no Kubernetes configuration" is what the environment says.
  clean.HOME ??= '/nonexistent-drc-home'
  const loaded = await loadConfig({cwd: '/nonexistent-drc-cwd', env: clean})
  return runHealthChecks(loaded, {env: clean, only, timeoutMs})
}

export async function checkOne(env: Record<string, string | undefined>, name: HealthCheckName): Promise<HealthResult> {
  const [result] = await check(env, [name])
  return result
}

/** Pushes a one-layer OCI image `repo:tag` (the registry's own upload protocol, no Docker needed). */
export async function pushImage(
  registryUrl: string,
  repo: string,
  tag: string,
  auth?: {password: string; username: string},
): Promise<void> {
  const headers: Record<string, string> = auth
    ? {authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`}
    : {}
  const blob = async (bytes: Buffer) => ({
    digest: await pushBlob(registryUrl, repo, bytes, headers),
    size: bytes.length,
  })
  const config = await blob(Buffer.from(JSON.stringify({architecture: 'amd64', os: 'linux', tag})))
  const layer = await blob(crypto.randomBytes(64))
  const manifest = {
    config: {mediaType: 'application/vnd.oci.image.config.v1+json', ...config},
    layers: [{mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer}],
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    schemaVersion: 2,
  }
  const res = await fetch(`${registryUrl}/v2/${repo}/manifests/${tag}`, {
    body: JSON.stringify(manifest),
    headers: {...headers, 'content-type': manifest.mediaType},
    method: 'PUT',
  })
  if (res.status !== 201) throw new Error(`manifest push ${repo}:${tag}: HTTP ${res.status}`)
}

/** Domino's collections the mongodb check requires, created empty in `database`. */
export async function createDominoCollections(uri: string, database: string, names: readonly string[]): Promise<void> {
  const {MongoClient} = await import('mongodb')
  const client = new MongoClient(uri)
  try {
    const db = client.db(database)
    for (const name of names) {
      // eslint-disable-next-line no-await-in-loop
      await db.createCollection(name)
    }
  } finally {
    await client.close()
  }
}

/** A TCP port nothing listens on (bound, read back, released). */
export {freePort as deadPort} from '../support/ports.js'
