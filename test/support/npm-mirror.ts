/* eslint-disable n/no-unsupported-features/node-builtins -- global fetch is available (unflagged) on Node 20, our floor */
/**
 * The test registry has no uplinks, yet installing the CLI needs its whole dependency tree. So we keep the exact
 * tarballs of the production dependencies in package-lock.json in a cache outside the repository (filled once per
 * machine by test/support/install.ts, from the npm cache or the public registry) and publish them into verdaccio with
 * npm's own publish request before a test installs anything. The test itself then only talks to 127.0.0.1.
 */
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, renameSync} from 'node:fs'
import path from 'node:path'
import {gunzipSync} from 'node:zlib'

import type {LocalRegistry} from './verdaccio.js'

import {cacheDir} from './cache-dir.js'

export interface LockedPackage {
  name: string
  version: string
}

export function mirrorDir(): string {
  return path.join(cacheDir(), 'npm-mirror')
}

function tarballName(p: LockedPackage): string {
  return `${p.name.replace('@', '').replace('/', '-')}-${p.version}.tgz`
}

/** Every package a production install of the lockfile's root and workspaces needs (dev-only, bundled, links left out). */
export function productionPackages(lockfile: string): LockedPackage[] {
  const lock = JSON.parse(readFileSync(lockfile, 'utf8')) as {
    packages: Record<string, {dev?: boolean; inBundle?: boolean; link?: boolean; name?: string; version?: string}>
  }
  const found = new Map<string, LockedPackage>()
  for (const [where, entry] of Object.entries(lock.packages)) {
    const at = where.lastIndexOf('node_modules/')
    // Bundled packages (npm's own) ship inside their parent's tarball and are not on the registry by themselves.
    if (at === -1 || entry.link || entry.dev || entry.inBundle || !entry.version) continue
    const name = entry.name ?? where.slice(at + 'node_modules/'.length)
    found.set(`${name}@${entry.version}`, {name, version: entry.version})
  }

  return [...found.values()]
}

/** Fetches the tarballs that are not in the mirror yet (one `npm pack` for all of them; the npm cache serves most). */
export function ensureMirror(lockfile: string, log: (line: string) => void = () => {}): void {
  const dir = mirrorDir()
  mkdirSync(dir, {recursive: true})
  const missing = productionPackages(lockfile).filter((p) => !existsSync(path.join(dir, tarballName(p))))
  if (missing.length === 0) return
  log(`fetching ${missing.length} dependency tarballs for the test npm registry into ${dir}`)
  const staging = path.join(dir, '.staging')
  mkdirSync(staging, {recursive: true})
  const specs = missing.map((p) => `${p.name}@${p.version}`)
  execFileSync('npm', ['pack', '--prefer-offline', '--pack-destination', staging, '--loglevel=error', ...specs], {
    cwd: staging,
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  // Moved in only once complete, so an interrupted run never leaves a half-written tarball in the mirror.
  for (const p of missing) renameSync(path.join(staging, tarballName(p)), path.join(dir, tarballName(p)))
}

/** The file `relative` of a package tarball (below its one top folder, which is not always `package/`). */
export function tarballFile(tgz: Buffer, relative: string): Buffer | undefined {
  const tar = gunzipSync(tgz)
  for (let at = 0; at + 512 <= tar.length;) {
    const header = tar.subarray(at, at + 512)
    const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '')
    if (!name) break
    const size = Number.parseInt(header.subarray(124, 136).toString('utf8').replace(/\0.*$/s, '').trim() || '0', 8)
    if (name.slice(name.indexOf('/') + 1) === relative) return tar.subarray(at + 512, at + 512 + size)
    at += 512 + Math.ceil(size / 512) * 512
  }

  return undefined
}

export function tarballManifest(tgz: Buffer): Record<string, unknown> {
  const file = tarballFile(tgz, 'package.json')
  if (!file) throw new Error('no package.json in the tarball')
  return JSON.parse(file.toString('utf8'))
}

function compareVersions(a: string, b: string): number {
  const [coreA, preA] = a.split(/-(.*)/s)
  const [coreB, preB] = b.split(/-(.*)/s)
  const diff = coreA.split('.').map((n, i) => Number(n) - Number(coreB.split('.')[i]))
  const first = diff.find((d) => d !== 0)
  if (first) return first
  if (preA === preB) return 0
  if (preA === undefined) return 1
  if (preB === undefined) return -1
  return preA.localeCompare(preB, 'en', {numeric: true})
}

/** Publishes one tarball the way `npm publish` does: PUT of the packument with the tarball attached. */
export async function putTarball(registry: LocalRegistry, tgz: Buffer, latest: boolean): Promise<void> {
  const {createHash} = await import('node:crypto')
  const manifest = tarballManifest(tgz) as {name: string; version: string}
  const {name, version} = manifest
  const file = `${name.replace(/^@[^/]+\//, '')}-${version}.tgz`
  const integrity = `sha512-${createHash('sha512').update(tgz).digest('base64')}`
  const shasum = createHash('sha1').update(tgz).digest('hex')
  const dist = {integrity, shasum, tarball: `${registry.url}${name}/-/${file}`}
  const body = {
    _attachments: {
      [file]: {content_type: 'application/octet-stream', data: tgz.toString('base64'), length: tgz.length},
    },
    _id: name,
    'dist-tags': latest ? {latest: version} : {},
    name,
    versions: {[version]: {...manifest, _id: `${name}@${version}`, dist}},
  }
  const response = await fetch(`${registry.url}${name.replace('/', '%2f')}`, {
    body: JSON.stringify(body),
    headers: {authorization: `Bearer ${registry.token}`, 'content-type': 'application/json'},
    method: 'PUT',
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`publishing ${name}@${version} to ${registry.url}: HTTP ${response.status} ${text}`)
}

/** Publishes the mirrored dependencies of `lockfile` into the test registry (highest version last: it is `latest`). */
export async function seedDependencies(registry: LocalRegistry, lockfile: string, concurrency = 8): Promise<number> {
  ensureMirror(lockfile)
  const byName = new Map<string, LockedPackage[]>()
  for (const p of productionPackages(lockfile)) byName.set(p.name, [...(byName.get(p.name) ?? []), p])
  const queue = [...byName.values()].map((versions) => versions.sort((a, b) => compareVersions(a.version, b.version)))
  const worker = async (): Promise<void> => {
    for (let versions = queue.pop(); versions; versions = queue.pop()) {
      for (const [i, p] of versions.entries()) {
        const tgz = readFileSync(path.join(mirrorDir(), tarballName(p)))
        // eslint-disable-next-line no-await-in-loop -- versions of one package go in order, so the highest is latest
        await putTarball(registry, tgz, i === versions.length - 1)
      }
    }
  }

  await Promise.all(Array.from({length: concurrency}, worker))
  return [...byName.values()].reduce((n, v) => n + v.length, 0)
}
