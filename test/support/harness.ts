/* eslint-disable n/no-unsupported-features/node-builtins -- global fetch is available (unflagged) on Node 20, our floor */
/**
 * Starts every real service the tests need (plus the fake Kubernetes API that drives the registry), writes one
 * JSON file of connection settings, and stops everything again. Tests read the settings with `services()`.
 */
import {existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'

import {type MongoHandle, startMongo} from './ferretdb.js'
import {type KeycloakHandle, seedKeycloak, startKeycloak} from './keycloak.js'
import {type KubeFakeHandle, type KubeFakeOptions, startKubeFake} from './kube-fake.js'
import {createBucket, type MotoHandle, startMoto} from './moto.js'
import {spawnService, waitUntil} from './proc.js'
import {type RegistryHandle, type RegistryOptions, startRegistry} from './registry.js'

export interface ServiceSettings {
  keycloak?: {adminPassword: string; adminUser: string; realm: string; url: string}
  kube: {kubeconfig: string; namespace: string; statefulset: string; token: string; url: string}
  mongo: {kind: MongoHandle['kind']; uri: string}
  registry: {configPath: string; dataDir: string; host: string; url: string}
  s3: {accessKeyId: string; bucket: string; endpoint: string; region: string; secretAccessKey: string}
  /** Milliseconds each part took to start. */
  timings: Record<string, number>
}

export interface Harness {
  keycloak?: KeycloakHandle
  /** Only with `inProcessKube` (by default the registry + fake Kubernetes pair runs in its own process). */
  kube?: KubeFakeHandle
  mongo: MongoHandle
  moto: MotoHandle
  /** Only with `inProcessKube`. */
  registry?: RegistryHandle
  servicesFile: string
  settings: ServiceSettings
  stopAll(): Promise<void>
}

export interface RegistryWithKube {
  kube: KubeFakeHandle
  registry: RegistryHandle
  stop(): Promise<void>
}

/**
 * A registry locked the way Domino ships it (config and StatefulSet env say delete disabled) under the control
 * of a fresh fake Kubernetes API. Tests that delete images start their own pair with this.
 */
export async function startRegistryWithKube(
  options: {kube?: Omit<KubeFakeOptions, 'registry'>; registry?: RegistryOptions} = {},
): Promise<RegistryWithKube> {
  const registry = await startRegistry({
    deleteEnabled: false,
    ...options.registry,
    env: {REGISTRY_STORAGE_DELETE_ENABLED: 'false', ...options.registry?.env},
  })
  try {
    const kube = await startKubeFake({...options.kube, registry})
    return {
      kube,
      registry,
      async stop() {
        await kube.stop()
        await registry.stop()
      },
    }
  } catch (error) {
    await registry.stop()
    throw error
  }
}

type PairSettings = Pick<ServiceSettings, 'kube' | 'registry'>

/** What tests need to know of a registry + fake Kubernetes pair (also what kube-fake-main.ts hands over). */
export function pairSettings({kube, registry}: Pick<RegistryWithKube, 'kube' | 'registry'>): PairSettings {
  return {
    kube: {
      kubeconfig: kube.kubeconfigPath,
      namespace: kube.namespace,
      statefulset: kube.statefulset,
      token: kube.token,
      url: kube.url,
    },
    registry: {configPath: registry.configPath, dataDir: registry.dataDir, host: registry.host, url: registry.url},
  }
}

/** The registry + fake Kubernetes pair in a child process (see kube-fake-main.ts for why). */
export async function startRegistryWithKubeProcess(): Promise<{settings: PairSettings; stop(): Promise<void>}> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'drc-kube-proc-'))
  const settingsFile = path.join(workDir, 'pair.json')
  const main = fileURLToPath(new URL('kube-fake-main.ts', import.meta.url))
  const proc = spawnService(process.execPath, ['--import', 'tsx', main, settingsFile], {
    logPath: path.join(workDir, 'kube-fake.log'),
  })
  await waitUntil('registry + fake Kubernetes API process', async () => existsSync(settingsFile), {
    logPath: proc.logPath,
    process: proc,
    timeoutMs: 30_000,
  })
  return {
    settings: JSON.parse(readFileSync(settingsFile, 'utf8')) as PairSettings,
    stop: () => proc.stop(10_000),
  }
}

async function timed<T>(timings: Record<string, number>, name: string, start: () => Promise<T>): Promise<T> {
  const started = Date.now()
  const result = await start()
  timings[name] = Date.now() - started
  return result
}

export const DEFAULT_BUCKET = 'drc-test-backups'
export const KEYCLOAK_REALM = 'DominoRealm'
/** Where a background Keycloak start of this process leaves its readiness promise. */
const KEYCLOAK_READY = Symbol.for('drc.test.keycloakReady')

/** Starts everything in parallel; on any failure stops what did start and rethrows. */
/**
 * `keycloak: 'background'` spawns Keycloak without waiting for it (it takes 20–90 s): `startAll` returns as soon as
 * the fast services answer, and tests that need Keycloak await `keycloakService()`.
 */
export async function startAll(
  options: {inProcessKube?: boolean; keycloak?: 'background' | boolean; servicesFile?: string} = {},
): Promise<Harness> {
  const started = Date.now()
  const timings: Record<string, number> = {}
  const parts = await Promise.allSettled([
    timed(timings, 'registry+kube', async () => {
      if (!options.inProcessKube) return startRegistryWithKubeProcess()
      const pair = await startRegistryWithKube()
      const {kube, registry} = pair
      return {kube, registry, settings: pairSettings(pair), stop: () => pair.stop()}
    }),
    timed(timings, 'mongo', () => startMongo()),
    timed(timings, 's3', async () => {
      const moto = await startMoto()
      try {
        await createBucket(moto.endpoint, process.env.DRC_TEST_S3_BUCKET ?? DEFAULT_BUCKET)
      } catch (error) {
        await moto.stop()
        throw error
      }

      return moto
    }),
    options.keycloak
      ? timed(timings, options.keycloak === 'background' ? 'keycloak (spawn)' : 'keycloak', async () => {
          const kcStarted = Date.now()
          const keycloak = await startKeycloak({background: options.keycloak === 'background'})
          // Ready = answering and DominoRealm seeded; in background mode tests await it via keycloakService().
          const seeded = keycloak.ready.then(async () => {
            await seedKeycloak(keycloak, [], KEYCLOAK_REALM)
            timings.keycloak = Date.now() - kcStarted // spawn → answering → DominoRealm seeded
          })
          seeded.catch(() => {})
          ;(globalThis as Record<symbol, unknown>)[KEYCLOAK_READY] = seeded
          if (options.keycloak !== 'background') {
            try {
              await seeded
            } catch (error) {
              await keycloak.stop()
              throw error
            }
          }

          return keycloak
        })
      : Promise.resolve(),
  ])
  const failures = parts.filter((p): p is PromiseRejectedResult => p.status === 'rejected')
  if (failures.length > 0) {
    await Promise.allSettled(
      parts.map((p) => (p.status === 'fulfilled' && p.value ? (p.value as {stop(): Promise<void>}).stop() : undefined)),
    )
    throw new Error(
      `test services failed to start:\n${failures.map((f) => `  - ${f.reason?.message ?? f.reason}`).join('\n')}`,
    )
  }

  const [pair, mongo, moto, keycloak] = parts.map((p) => (p as PromiseFulfilledResult<unknown>).value) as [
    {kube?: KubeFakeHandle; registry?: RegistryHandle; settings: PairSettings; stop(): Promise<void>},
    MongoHandle,
    MotoHandle,
    KeycloakHandle | undefined,
  ]
  timings.total = Date.now() - started
  const settings: ServiceSettings = {
    ...(keycloak
      ? {
          keycloak: {
            adminPassword: keycloak.adminPassword,
            adminUser: keycloak.adminUser,
            realm: KEYCLOAK_REALM,
            url: keycloak.url,
          },
        }
      : {}),
    ...pair.settings,
    mongo: {kind: mongo.kind, uri: mongo.uri},
    s3: {
      accessKeyId: moto.accessKeyId,
      bucket: process.env.DRC_TEST_S3_BUCKET ?? DEFAULT_BUCKET,
      endpoint: moto.endpoint,
      region: moto.region,
      secretAccessKey: moto.secretAccessKey,
    },
    timings,
  }
  const servicesFile =
    options.servicesFile ?? path.join(mkdtempSync(path.join(os.tmpdir(), 'drc-services-')), 'services.json')
  mkdirSync(path.dirname(servicesFile), {recursive: true})
  writeFileSync(servicesFile, JSON.stringify(settings, null, 2) + '\n')
  return {
    keycloak,
    kube: pair.kube,
    mongo,
    moto,
    registry: pair.registry,
    servicesFile,
    settings,
    async stopAll() {
      await Promise.allSettled([pair.stop(), mongo.stop(), moto.stop(), keycloak?.stop()])
    },
  }
}

/** The running services' settings, for tests (written by the mocha global setup; path in DRC_TEST_SERVICES). */
export function services(): ServiceSettings {
  const file = process.env.DRC_TEST_SERVICES
  if (!file) {
    throw new Error(
      'DRC_TEST_SERVICES is not set: run tests through mocha (test/support/setup.ts starts the services) or `npm run services:start`',
    )
  }

  return JSON.parse(readFileSync(file, 'utf8')) as ServiceSettings
}

/**
 * The Keycloak settings once Keycloak answers and DominoRealm exists. Call it from a hook or test with a long
 * timeout (`this.timeout(300_000)`): under the mocha global setup Keycloak starts in the background.
 */
export async function keycloakService(): Promise<NonNullable<ServiceSettings['keycloak']>> {
  const {keycloak} = services()
  if (!keycloak) throw new Error('Keycloak is not part of this run (started with DRC_TEST_KEYCLOAK=0 or --no-keycloak)')
  const pending = (globalThis as Record<symbol, unknown>)[KEYCLOAK_READY] as Promise<void> | undefined
  if (pending) {
    await pending
    return keycloak
  }

  const deadline = Date.now() + 300_000
  while (Date.now() < deadline) {
    // eslint-disable-next-line no-await-in-loop
    const status = await fetch(`${keycloak.url}/realms/${keycloak.realm}`).then(
      (r) => r.status,
      () => 0,
    )
    if (status === 200) return keycloak
    // eslint-disable-next-line no-await-in-loop
    await sleep(500)
  }

  throw new Error(`Keycloak at ${keycloak.url} has no realm ${keycloak.realm} after 300 s`)
}
