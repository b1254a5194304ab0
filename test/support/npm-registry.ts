/**
 * npm against the test registry only: pack checks, publish, a global install of the CLI into an empty prefix, and
 * running that installed `drc` with its own oclif directories. Every npm run gets `--registry`, `--userconfig` and
 * `--cache` explicitly and none of the caller's `npm_config_*` variables, so nothing reaches the internet.
 */
import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {LocalRegistry} from './verdaccio.js'

export interface RunResult {
  code: null | number
  stderr: string
  stdout: string
}

/** A registry nothing listens on (port 9, discard): any npm request to it fails at once with ECONNREFUSED. */
export function deadRegistry(): LocalRegistry {
  const dir = mkdtempSync(path.join(tmpdir(), 'drc-no-registry-'))
  const userconfig = path.join(dir, 'npmrc')
  writeFileSync(userconfig, 'registry=http://127.0.0.1:9/\naudit=false\nfund=false\nupdate-notifier=false\n')
  return {
    cache: path.join(dir, 'npm-cache'),
    dir,
    logPath: '',
    async stop() {},
    token: '',
    url: 'http://127.0.0.1:9/',
    userconfig,
  }
}

/** process.env without npm's own configuration variables, plus the ones that pin npm to `registry`. */
export function npmEnv(registry: LocalRegistry, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_config_/i.test(key)) env[key] = value
  // An empty global npmrc: the machine's (or the npm binary's) global config must not add a registry or a proxy.
  const globalconfig = path.join(registry.dir, 'global-npmrc')
  writeFileSync(globalconfig, '')
  return {
    ...env,
    npm_config_audit: 'false',
    npm_config_cache: registry.cache,
    npm_config_fund: 'false',
    npm_config_globalconfig: globalconfig,
    npm_config_registry: registry.url,
    npm_config_update_notifier: 'false',
    npm_config_userconfig: registry.userconfig,
    ...extra,
  }
}

export function runNpm(args: string[], registry: LocalRegistry, opts: {cwd: string; timeout?: number}): RunResult {
  const pinned = ['--registry', registry.url, '--userconfig', registry.userconfig, '--cache', registry.cache]
  const r = spawnSync('npm', [...args, ...pinned], {
    cwd: opts.cwd,
    encoding: 'utf8',
    env: npmEnv(registry),
    timeout: opts.timeout ?? 300_000,
  })
  return {code: r.status, stderr: r.stderr, stdout: r.stdout}
}

function must(what: string, r: RunResult): RunResult {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stderr}\n${r.stdout}`.trim())
  return r
}

/** The files `npm pack` would put in the tarball of `dir` (runs its prepack/postpack scripts, writes nothing). */
export function packedFiles(dir: string, registry: LocalRegistry = deadRegistry()): string[] {
  const r = must(`npm pack --dry-run in ${dir}`, runNpm(['pack', '--dry-run', '--json'], registry, {cwd: dir}))
  // Lifecycle scripts (prepack) may print before the JSON; the JSON array is the last thing on stdout.
  const json = r.stdout.slice(r.stdout.lastIndexOf('\n[') + 1)
  const [entry] = JSON.parse(json) as Array<{files: Array<{path: string}>}>
  return entry.files.map((f) => f.path)
}

/** `npm pack` of `dir` into `dest` (prepack/postpack included); returns the tarball's path and its file list. */
export function packTarball(
  dir: string,
  dest: string,
  registry: LocalRegistry = deadRegistry(),
): {files: string[]; tarball: string} {
  const r = must(`npm pack in ${dir}`, runNpm(['pack', '--json', '--pack-destination', dest], registry, {cwd: dir}))
  const [entry] = JSON.parse(r.stdout.slice(r.stdout.lastIndexOf('\n[') + 1)) as Array<{
    filename: string
    files: Array<{path: string}>
  }>
  return {files: entry.files.map((f) => f.path), tarball: path.join(dest, entry.filename)}
}

/** What a published tarball must not carry: build state and tests. */
export function unwantedFiles(files: string[]): string[] {
  return files.filter(
    (f) => f.endsWith('.tsbuildinfo') || /(^|\/)test\//.test(f) || /(^|\/)src\/.*\.test\.[cm]?[jt]s$/.test(f),
  )
}

export function assertPublishable(dir: string, registry?: LocalRegistry): string[] {
  const files = packedFiles(dir, registry)
  const bad = unwantedFiles(files)
  if (bad.length > 0) throw new Error(`the tarball of ${dir} would carry ${bad.join(', ')}`)
  return files
}

/** Checks the tarball, then `npm publish` of `dir` to the test registry. Returns `name@version`. */
export function publishPackage(dir: string, registry: LocalRegistry): string {
  assertPublishable(dir, registry)
  must(`npm publish in ${dir}`, runNpm(['publish'], registry, {cwd: dir}))
  const pjson = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {name: string; version: string}
  return `${pjson.name}@${pjson.version}`
}

/** `npm install -g --prefix <prefix> <spec>` from the test registry only. Returns the path of the installed `drc`. */
export function installCli(prefix: string, registry: LocalRegistry, spec = 'drc'): string {
  mkdirSync(prefix, {recursive: true})
  must(`npm install -g ${spec}`, runNpm(['install', '--global', '--prefix', prefix, spec], registry, {cwd: prefix}))
  return path.join(prefix, 'bin', 'drc')
}

export interface InstalledCli {
  bin: string
  /** The environment the installed CLI runs with (its own oclif dirs, npm pinned to the test registry). */
  env: NodeJS.ProcessEnv
  /** Its own scratch directory: oclif data/config/cache live here, and commands run with it as cwd. */
  home: string
  run(args: string[], opts?: {env?: Record<string, string>; input?: string; timeout?: number}): RunResult
}

/**
 * Runs an installed `drc` as an operator would, with oclif data/config/cache in a fresh directory (so `drc plugins
 * install` writes there, not into ~) and npm — the one @oclif/plugin-plugins spawns — pinned to the test registry.
 */
export function installedCli(bin: string, registry: LocalRegistry): InstalledCli {
  const home = mkdtempSync(path.join(tmpdir(), 'drc-installed-'))
  const dirs = {cache: path.join(home, 'cache'), config: path.join(home, 'config'), data: path.join(home, 'data')}
  const env = npmEnv(registry, {
    DRC_CACHE_DIR: dirs.cache,
    DRC_CONFIG_DIR: dirs.config,
    DRC_DATA_DIR: dirs.data,
    // @oclif/plugin-plugins passes `--registry` from this to its npm (npm_config_registry covers the rest).
    DRC_NPM_REGISTRY: registry.url,
    FORCE_COLOR: '0',
    NO_COLOR: '1',
    XDG_CACHE_HOME: dirs.cache,
    XDG_CONFIG_HOME: dirs.config,
    XDG_DATA_HOME: dirs.data,
  })
  const run: InstalledCli['run'] = (args, opts = {}) => {
    const r = spawnSync(bin, args, {
      cwd: home,
      encoding: 'utf8',
      env: {...env, ...opts.env},
      input: opts.input,
      timeout: opts.timeout ?? 300_000,
    })
    return {code: r.status, stderr: r.stderr, stdout: r.stdout}
  }

  return {bin, env, home, run}
}
