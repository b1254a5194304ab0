/**
 * A real Docker registry (distribution 2.8, `docker-registry` from Debian) on a free 127.0.0.1 port with a
 * generated config in a temp dir. The packaged /etc/docker/registry/config.yml listens on all interfaces,
 * so it is never used.
 */
import bcrypt from 'bcryptjs'
import {execFile} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'
import YAML from 'yaml'

import {registryBinary} from './install.js'
import {portOrFree} from './ports.js'
import {httpAnswers, type Spawned, spawnService, waitUntil} from './proc.js'

const execFileAsync = promisify(execFile)

export interface RegistryTokenAuth {
  issuer: string
  realm: string
  /** PEM bundle of the certificates whose keys sign the tokens. */
  rootCertBundle: string
  service: string
}

export interface RegistryOptions {
  /** Basic auth through a generated htpasswd file (bcrypt). */
  basicAuth?: {password: string; username: string}
  /** Reuse a data directory (default: a fresh temp dir). */
  dataDir?: string
  /** `storage.delete.enabled` in the config file (default true). The env var can still override it. */
  deleteEnabled?: boolean
  /** Extra environment for the registry process, e.g. `REGISTRY_STORAGE_DELETE_ENABLED`. */
  env?: Record<string, string>
  /** Listen on this port when it is free (default: any free port). */
  port?: number
  /** Serve HTTPS with this certificate and key (PEM files); the URL is then https://. */
  tls?: {certificate: string; key: string}
  /** Token auth (`auth.token`), for a token-server test. */
  tokenAuth?: RegistryTokenAuth
}

export interface GcResult {
  code: number
  output: string
}

export interface RegistryHandle {
  /** Sum of file sizes under docker/registry/v2/blobs. */
  blobBytesOnDisk(): number
  configPath: string
  dataDir: string
  /** The env the running process was started with (only the overrides given by the harness). */
  env: Record<string, string>
  /** Runs `docker-registry garbage-collect [--dry-run] [--delete-untagged] config.yml`. */
  garbageCollect(options?: {deleteUntagged?: boolean; dryRun?: boolean}): Promise<GcResult>
  /** `127.0.0.1:<port>` */
  host: string
  port: number
  /** Stops the process (waiting for its pid) and starts it again on the same port with `env`. */
  restart(env?: Record<string, string>): Promise<void>
  stop(options?: {keepData?: boolean}): Promise<void>
  url: string
}

export function registryConfig(
  options: RegistryOptions & {dataDir: string; htpasswdPath?: string; port: number},
): Record<string, unknown> {
  const config: Record<string, unknown> = {
    http: {
      addr: `127.0.0.1:${options.port}`,
      secret: randomBytes(16).toString('hex'),
      ...(options.tls ? {tls: options.tls} : {}),
    },
    log: {accesslog: {disabled: true}, level: 'warn'},
    storage: {
      delete: {enabled: options.deleteEnabled ?? true},
      filesystem: {rootdirectory: options.dataDir},
      // Upload purging would delete half-finished uploads behind a test's back.
      maintenance: {uploadpurging: {enabled: false}},
    },
    version: 0.1,
  }
  if (options.basicAuth && options.tokenAuth) throw new Error('registry: choose basicAuth or tokenAuth, not both')
  if (options.htpasswdPath) config.auth = {htpasswd: {path: options.htpasswdPath, realm: 'drc-test'}}
  if (options.tokenAuth) {
    const {issuer, realm, rootCertBundle, service} = options.tokenAuth
    config.auth = {token: {issuer, realm, rootcertbundle: rootCertBundle, service}}
  }

  return config
}

function dirBytes(dir: string): number {
  let total = 0
  let entries
  try {
    entries = readdirSync(dir, {withFileTypes: true})
  } catch {
    return 0
  }

  for (const entry of entries) {
    const full = path.join(dir, entry.name)
    total += entry.isDirectory() ? dirBytes(full) : statSync(full).size
  }

  return total
}

export async function startRegistry(options: RegistryOptions = {}): Promise<RegistryHandle> {
  const binary = registryBinary()
  if (!binary) throw new Error('docker-registry not found: run `node --import tsx test/support/install.ts`')
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'drc-registry-'))
  const dataDir = options.dataDir ?? path.join(workDir, 'data')
  const port = await portOrFree(options.port)
  let htpasswdPath: string | undefined
  if (options.basicAuth) {
    htpasswdPath = path.join(workDir, 'htpasswd')
    const hash = bcrypt.hashSync(options.basicAuth.password, 10)
    writeFileSync(htpasswdPath, `${options.basicAuth.username}:${hash}\n`)
  }

  const configPath = path.join(workDir, 'config.yml')
  writeFileSync(configPath, YAML.stringify(registryConfig({...options, dataDir, htpasswdPath, port})))
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`
  let proc: Spawned | undefined

  async function launch(env: Record<string, string>): Promise<void> {
    const started = spawnService(binary!, ['serve', configPath], {
      env: {...process.env, ...env},
      logPath: path.join(workDir, 'registry.log'),
    })
    proc = started
    // 200 without auth, 401 with auth: either way the registry is serving. A TLS registry answers plain HTTP
    // with 400 (Go's "HTTP request to an HTTPS server"), which also means it is up.
    const probe = options.tls ? url.replace(/^https:/, 'http:') : url
    const up = (s: number) => s === 200 || s === 401 || (Boolean(options.tls) && s === 400)
    await waitUntil(`docker-registry on ${url}`, () => httpAnswers(`${probe}/v2/`, up), {
      intervalMs: 25,
      logPath: started.logPath,
      process: started,
      timeoutMs: 15_000,
    })
  }

  const handle: RegistryHandle = {
    blobBytesOnDisk: () => dirBytes(path.join(dataDir, 'docker', 'registry', 'v2', 'blobs')),
    configPath,
    dataDir,
    env: {...options.env},
    async garbageCollect(gc = {}) {
      const args = ['garbage-collect']
      if (gc.dryRun) args.push('--dry-run')
      if (gc.deleteUntagged) args.push('--delete-untagged')
      args.push(configPath)
      try {
        const {stderr, stdout} = await execFileAsync(binary, args, {maxBuffer: 64 * 1024 * 1024})
        return {code: 0, output: stdout + stderr}
      } catch (error) {
        const failed = error as {code?: number; stderr?: string; stdout?: string}
        return {code: typeof failed.code === 'number' ? failed.code : 1, output: `${failed.stdout}${failed.stderr}`}
      }
    },
    host: `127.0.0.1:${port}`,
    port,
    async restart(env = handle.env) {
      await proc?.stop(5000)
      handle.env = {...env}
      await launch(handle.env)
    },
    async stop(stopOptions = {}) {
      await proc?.stop(5000)
      if (!stopOptions.keepData) rmSync(workDir, {force: true, recursive: true})
    },
    url,
  }
  await launch(handle.env)
  return handle
}
