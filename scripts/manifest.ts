/**
 * Writes the CLI's oclif.manifest.json without the network (run by the root `prepack`; `npm run manifest` too).
 *
 * `oclif manifest` alone downloads every package in `oclif.jitPlugins` from npm to read its commands, so packing fails
 * before the plugins are published (and would read whatever is published, not this checkout). The JIT plugins live in
 * this repository: we write the CLI's own manifest with `--no-jit`, then add the commands of the local plugins, marked
 * `pluginType: 'jit'` as oclif does, so `drc unused delete` on a CLI without the plugin offers to install it.
 *
 * Usage: node --import tsx scripts/manifest.ts [cliDir] [--plugins <dir>]  (defaults: the cwd, <cliDir>/plugins)
 */
import {spawnSync} from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import {createRequire} from 'node:module'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

interface PackageJson {
  name: string
  oclif?: {jitPlugins?: Record<string, string>}
  version: string
}

interface Manifest {
  commands: Record<string, {pluginName?: string; pluginType?: string}>
  version: string
}

const MANIFEST = 'oclif.manifest.json'

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T
}

function fail(message: string): never {
  throw new Error(`scripts/manifest.ts: ${message}`)
}

/** Runs the oclif CLI of the checkout in `dir` (it deletes and writes ./oclif.manifest.json relative to its cwd). */
function oclifManifest(dir: string, args: string[]): void {
  const oclifBin = path.join(path.dirname(createRequire(import.meta.url).resolve('oclif/package.json')), 'bin/run.js')
  // The oclif dev CLI's update notice is a warning on every build; drc pins its oclif version.
  const env = {...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true'}
  const r = spawnSync(process.execPath, [oclifBin, 'manifest', ...args], {cwd: dir, encoding: 'utf8', env})
  if (r.status !== 0) fail(`oclif manifest ${args.join(' ')} in ${dir} failed:\n${r.stderr}${r.stdout}`)
}

/** Package name → directory, for every package directly under `pluginsDir`. */
export function localPackages(pluginsDir: string): Map<string, string> {
  const found = new Map<string, string>()
  if (!existsSync(pluginsDir)) return found
  for (const entry of readdirSync(pluginsDir, {withFileTypes: true})) {
    const pjson = path.join(pluginsDir, entry.name, 'package.json')
    if (entry.isDirectory() && existsSync(pjson)) found.set(readJson<PackageJson>(pjson).name, path.dirname(pjson))
  }

  return found
}

/** The commands of the local plugin `name`, marked as JIT; its manifest is generated (and removed again) if absent. */
function jitCommands(name: string, version: string, dir: string | undefined): Manifest['commands'] {
  if (!dir) fail(`oclif.jitPlugins lists ${name}, but no package under the plugins directory is named ${name}`)
  const pjson = readJson<PackageJson>(path.join(dir, 'package.json'))
  if (pjson.version !== version) {
    fail(`oclif.jitPlugins pins ${name}@${version}, but ${dir} is version ${pjson.version}: make them equal`)
  }

  const file = path.join(dir, MANIFEST)
  const generated = !existsSync(file)
  if (generated) oclifManifest(dir, [])
  try {
    const manifest = readJson<Manifest>(file)
    if (manifest.version !== version) fail(`${file} is for version ${manifest.version}, not ${version}: delete it`)
    const commands = Object.entries(manifest.commands)
    if (commands.length === 0) fail(`${name} has no commands in ${file}: build it first (npm run build)`)
    return Object.fromEntries(commands.map(([id, command]) => [id, {...command, pluginType: 'jit'}]))
  } finally {
    // A manifest left in a plugin's checkout would shadow later builds of a linked plugin.
    if (generated) rmSync(file, {force: true})
  }
}

/** Writes `<cliDir>/oclif.manifest.json`: the CLI's commands plus those of its local JIT plugins. */
export function writeCliManifest(cliDir: string, pluginsDir = path.join(cliDir, 'plugins')): Manifest {
  const pjson = readJson<PackageJson>(path.join(cliDir, 'package.json'))
  oclifManifest(cliDir, ['--no-jit', cliDir])
  const file = path.join(cliDir, MANIFEST)
  const manifest = readJson<Manifest>(file)
  const local = localPackages(pluginsDir)
  for (const [name, version] of Object.entries(pjson.oclif?.jitPlugins ?? {})) {
    for (const [id, command] of Object.entries(jitCommands(name, version, local.get(name)))) {
      if (manifest.commands[id]) fail(`${name} and ${manifest.commands[id].pluginName ?? pjson.name} both define ${id}`)
      manifest.commands[id] = command
    }
  }

  writeFileSync(file, JSON.stringify(manifest, null, 2))
  return manifest
}

/**
 * The CLI of the checkout `root` as `npm install` lays it out (package.json, bin/, dist/, oclif.manifest.json), in
 * `dir`: dist and node_modules linked, the manifest written as above. Returns its bin/run.js (bench and tests).
 */
export function stageInstalledCli(root: string, dir: string): string {
  mkdirSync(path.join(dir, 'bin'), {recursive: true})
  copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'))
  copyFileSync(path.join(root, 'bin/run.js'), path.join(dir, 'bin/run.js'))
  symlinkSync(path.join(root, 'dist'), path.join(dir, 'dist'))
  symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'))
  writeCliManifest(dir, path.join(root, 'plugins'))
  return path.join(dir, 'bin/run.js')
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const at = args.indexOf('--plugins')
  const pluginsDir = at === -1 ? undefined : path.resolve(args.splice(at, 2)[1])
  const cliDir = path.resolve(args[0] ?? '.')
  try {
    const manifest = writeCliManifest(cliDir, pluginsDir)
    const jit = Object.values(manifest.commands).filter((c) => c.pluginType === 'jit').length
    console.log(`wrote ${path.join(cliDir, MANIFEST)} (${Object.keys(manifest.commands).length} commands, ${jit} JIT)`)
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error))
    process.exit(1)
  }
}
