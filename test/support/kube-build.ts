/**
 * Builds a real kube-apiserver and kube-controller-manager once per machine from the Go module proxy and caches
 * them outside the repository, keyed by version (~/.cache/drc-test/kube-<version>/bin). k8s.io/kubernetes points its
 * staging modules at ./staging, so the wrapper module replaces each of them with its published v0.<minor>.<patch>.
 *   node --import tsx test/support/kube-build.ts     # builds if missing, prints the binaries' directory
 */
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export const KUBE_VERSION = 'v1.37.2'
const STAGING_VERSION = KUBE_VERSION.replace(/^v1\./, 'v0.')
const COMMANDS = ['kube-apiserver', 'kube-controller-manager'] as const
const x = (k: string, v: string) => `-X k8s.io/component-base/version.${k}=${v}`

export interface KubeBinaries {
  apiserver: string
  controllerManager: string
  dir: string
}

export function kubeCacheDir(): string {
  const base = process.env.DRC_TEST_CACHE ?? path.join(os.homedir(), '.cache', 'drc-test')
  return path.join(base, `kube-${KUBE_VERSION}`)
}

function binaries(dir: string): KubeBinaries {
  return {
    apiserver: path.join(dir, 'bin', 'kube-apiserver'),
    controllerManager: path.join(dir, 'bin', 'kube-controller-manager'),
    dir: path.join(dir, 'bin'),
  }
}

function run(cmd: string, args: string[], cwd: string, log: (line: string) => void): Promise<string> {
  log(`  $ ${cmd} ${args.join(' ')}`)
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {cwd, env: {...process.env, GOFLAGS: '-mod=mod'}, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString()
      // go prints one line per package it downloads or builds with -v: enough to show it is moving.
      for (const line of d.toString().split('\n')) if (line.trim()) log(`    ${line.trim()}`)
    })
    child.on('error', reject)
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args[0]} failed (${code}): ${err.slice(-2000)}`)),
    )
  })
}

/** The go.mod of the wrapper: kubernetes itself plus one replace per staging module it names. */
async function wrapperGoMod(src: string, log: (line: string) => void): Promise<string> {
  const info = JSON.parse(await run('go', ['mod', 'download', '-json', `k8s.io/kubernetes@${KUBE_VERSION}`], src, log))
  const upstream = readFileSync(info.GoMod as string, 'utf8')
  const staging = [...upstream.matchAll(/^\s*(k8s\.io\/\S+)\s+=>\s+\.\/staging\//gm)].map((m) => m[1])
  if (staging.length === 0) throw new Error(`no staging replaces found in k8s.io/kubernetes@${KUBE_VERSION}'s go.mod`)
  const goLine = /^go\s+(\S+)/m.exec(upstream)?.[1] ?? '1.26.0'
  return [
    'module drc.test/kube',
    '',
    `go ${goLine}`,
    '',
    `require k8s.io/kubernetes ${KUBE_VERSION}`,
    '',
    ...staging.map((m) => `replace ${m} => ${m} ${STAGING_VERSION}`),
    '',
  ].join('\n')
}

/** Returns the cached binaries, building them first when missing (about 8–11 minutes cold on two cores). */
export async function ensureKubeBinaries(log: (line: string) => void = console.log): Promise<KubeBinaries> {
  const dir = kubeCacheDir()
  const bins = binaries(dir)
  if (existsSync(bins.apiserver) && existsSync(bins.controllerManager)) return bins
  const started = Date.now()
  log(`[kube] building kube-apiserver and kube-controller-manager ${KUBE_VERSION} into ${bins.dir} (once per machine)`)
  const src = path.join(dir, 'src')
  mkdirSync(src, {recursive: true})
  mkdirSync(bins.dir, {recursive: true})
  writeFileSync(path.join(src, 'go.mod'), await wrapperGoMod(src, log))
  writeFileSync(
    path.join(src, 'tools.go'),
    `//go:build tools\n\npackage tools\n\nimport (\n${COMMANDS.map((c) => `\t_ "k8s.io/kubernetes/cmd/${c}"`).join('\n')}\n)\n`,
  )
  await run('go', ['mod', 'tidy'], src, log)
  const [major, minor] = KUBE_VERSION.slice(1).split('.')
  const ldflags = ['-s', '-w', x('gitVersion', KUBE_VERSION), x('gitMajor', major), x('gitMinor', minor)].join(' ')
  for (const cmd of COMMANDS) {
    const tmp = path.join(bins.dir, `${cmd}.tmp`)
    log(`[kube] go build ${cmd} …`)
    // eslint-disable-next-line no-await-in-loop -- two cores: one build at a time is as fast and shows progress
    await run(
      'go',
      ['build', '-tags', 'tools', '-ldflags', ldflags, '-o', tmp, `k8s.io/kubernetes/cmd/${cmd}`],
      src,
      log,
    )
    renameSync(tmp, path.join(bins.dir, cmd))
  }

  log(`[kube] built in ${((Date.now() - started) / 1000).toFixed(0)} s`)
  return bins
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const bins = await ensureKubeBinaries()
  console.log(bins.dir)
}
