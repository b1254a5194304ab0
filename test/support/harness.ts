/* eslint-disable n/no-unsupported-features/node-builtins -- global fetch is available (unflagged) on Node 20, our floor */
/**
 * Starts every real service the tests need (a real Kubernetes control plane whose simulated node runs the registry
 * included), writes one JSON file of connection settings, and stops everything again. Tests read the settings with
 * `services()`.
 */
import {existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'

import type {KubeMainOptions} from './kube-main.js'

import {type MongoHandle, startMongo} from './ferretdb.js'
import {type KeycloakHandle, seedKeycloak, startKeycloak} from './keycloak.js'
import {ensureKubeBinaries} from './kube-build.js'
import {createBucket, type MotoHandle, startMoto} from './moto.js'
import {spawnService, waitUntil} from './proc.js'

export interface ServiceSettings {
  keycloak?: {adminPassword: string; adminUser: string; realm: string; url: string}
  kube: {kubeconfig: string; namespace: string; statefulset: string; token: string; url: string}
  mongo: {kind: MongoHandle['kind']; uri: string}
  /** The ports in use (a persistent start asks for the same ones again). */
  ports?: ServicePorts
  registry: {configPath: string; dataDir: string; host: string; url: string}
  s3: {accessKeyId: string; bucket: string; endpoint: string; region: string; secretAccessKey: string}
  /** Milliseconds each part took to start. */
  timings: Record<string, number>
}

export type ServicePorts = Partial<
  Record<'keycloak' | 'keycloakManagement' | 'kube' | 'mongo' | 'registry' | 's3', number>
>

export interface StartOptions {
  /** `'background'`: see startAll. */
  keycloak?: 'background' | boolean
  /** Ports to reuse when they are free (with `stateDir`: a resumed sandbox). */
  ports?: ServicePorts
  /** The S3 bucket to create (default DRC_TEST_S3_BUCKET or drc-test-backups). */
  s3Bucket?: string
  servicesFile?: string
  /**
   * Keep the services' data here across restarts (registry storage, FerretDB SQLite files, the S3 recording, the
   * control plane's etcd data and certificates). Keycloak stays in memory: its callers re-seed it (see scripts/services.ts).
   */
  stateDir?: string
}

export interface Harness {
  keycloak?: KeycloakHandle
  mongo: MongoHandle
  moto: MotoHandle
  servicesFile: string
  settings: ServiceSettings
  stopAll(): Promise<void>
}

type PairSettings = Pick<ServiceSettings, 'kube' | 'registry'>

/**
 * The Kubernetes control plane + the shared registry (domino-platform/docker-registry) and its node simulator, in
 * a child process (see kube-main.ts for why). The binaries are built first, here, so the build's progress shows.
 */
export async function startKubeProcess(
  options: KubeMainOptions = {},
): Promise<{settings: PairSettings & {timings: Record<string, number>}; stop(): Promise<void>}> {
  await ensureKubeBinaries((line) => console.error(line))
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'drc-kube-proc-'))
  const settingsFile = path.join(workDir, 'pair.json')
  const optionsFile = path.join(workDir, 'options.json')
  writeFileSync(optionsFile, JSON.stringify(options))
  const main = fileURLToPath(new URL('kube-main.ts', import.meta.url))
  const proc = spawnService(process.execPath, ['--import', 'tsx', main, settingsFile, optionsFile], {
    logPath: path.join(workDir, 'kube.log'),
  })
  await waitUntil('Kubernetes control plane + registry process', async () => existsSync(settingsFile), {
    logPath: proc.logPath,
    process: proc,
    timeoutMs: 120_000,
  })
  const settings = JSON.parse(readFileSync(settingsFile, 'utf8')) as PairSettings & {
    controlPlane: {rssMb: number; startMs: number}
  }
  console.error(
    `kube control plane: ready in ${(settings.controlPlane.startMs / 1000).toFixed(1)} s, ${settings.controlPlane.rssMb} MB RSS (etcd + kube-apiserver + kube-controller-manager)`,
  )
  return {
    settings: {
      kube: settings.kube,
      registry: settings.registry,
      timings: {'kube control plane': settings.controlPlane.startMs},
    },
    stop: () => proc.stop(15_000),
  }
}

const portOf = (url: string) => Number(new URL(url).port) || undefined

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
export async function startAll(options: StartOptions = {}): Promise<Harness> {
  const started = Date.now()
  const timings: Record<string, number> = {}
  const {ports = {}, stateDir} = options
  const bucket = options.s3Bucket ?? process.env.DRC_TEST_S3_BUCKET ?? DEFAULT_BUCKET
  const dir = (name: string) => (stateDir ? path.join(stateDir, name) : undefined)
  const kubeOptions: KubeMainOptions = {
    port: ports.kube,
    registry: {dataDir: dir('registry'), port: ports.registry},
    stateDir: dir('kube'),
  }
  const parts = await Promise.allSettled([
    timed(timings, 'registry+kube', async () => startKubeProcess(kubeOptions)),
    timed(timings, 'mongo', () => startMongo({dir: dir('ferretdb'), port: ports.mongo})),
    timed(timings, 's3', async () => {
      const moto = await startMoto({dir: dir('moto'), port: ports.s3})
      try {
        await createBucket(moto.endpoint, bucket)
      } catch (error) {
        await moto.stop()
        throw error
      }

      return moto
    }),
    options.keycloak
      ? timed(timings, options.keycloak === 'background' ? 'keycloak (spawn)' : 'keycloak', async () => {
          const kcStarted = Date.now()
          const keycloak = await startKeycloak({
            background: options.keycloak === 'background',
            managementPort: ports.keycloakManagement,
            port: ports.keycloak,
          })
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
    Awaited<ReturnType<typeof startKubeProcess>>,
    MongoHandle,
    MotoHandle,
    KeycloakHandle | undefined,
  ]
  Object.assign(timings, pair.settings.timings)
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
    kube: pair.settings.kube,
    mongo: {kind: mongo.kind, uri: mongo.uri},
    ports: {
      keycloak: keycloak && portOf(keycloak.url),
      keycloakManagement: keycloak?.managementPort,
      kube: portOf(pair.settings.kube.url),
      mongo: portOf(mongo.uri),
      registry: portOf(pair.settings.registry.url),
      s3: portOf(moto.endpoint),
    },
    registry: pair.settings.registry,
    s3: {
      accessKeyId: moto.accessKeyId,
      bucket,
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
    mongo,
    moto,
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
