/**
 * Benchmark section "registry scan": whole-process scan time of drc against bare loops, over one local
 * docker-registry. Per size (BENCH_SIZES, default 1000,10000 images) it tops the registry up to that many tags
 * (one shared config and layer set; each tag a distinct small OCI manifest through an annotation, so a tag costs
 * one PUT), then runs, each in its own process and timed from spawn to exit:
 *   drc cold  `drc report image-size --generate-reports --json` with an empty manifest cache (a GET per tag),
 *   drc warm  the same again over the cache it left (a HEAD per tag),
 *   bare      bench/bare-loop.mjs with global `fetch` and with `node:http` keep-alive, GET and HEAD of every
 *             manifest with drc's Accept list, at drc's concurrency (analysis.max_workers).
 * Ratios are drc throughput / bare throughput (cold against GET, warm against HEAD); peak RSS from each process.
 * drc runs as it is installed: a CLI directory with the oclif.manifest.json that `npm pack` ships (scripts/manifest.ts;
 * without it oclif imports every command file to list the commands). One more warm run uses the checkout's own
 * bin/run.js, with the manifest `npm run build` writes, or without one after a bare `npx tsc -b` (the row says which).
 */
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {RegistryClient, sha256Digest} from '../packages/core/src/registry/client.js'
import {mapLimit} from '../packages/core/src/registry/map-limit.js'
import {MANIFEST_ACCEPT, MediaType} from '../packages/core/src/registry/media-types.js'
import {stageInstalledCli} from '../scripts/manifest.js'

export interface BenchRow {
  name: string
  notes?: string
  value: number | string
}

export interface RegistryScanOptions {
  concurrency: number
  /** Base URL of an empty registry this section may fill. */
  registryUrl: string
  /** Image counts, ascending; the registry is topped up from one to the next. */
  sizes: number[]
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const REPOS = ['bench/environment', 'bench/model']
const GOAL = {fetch: 0.9, http: 0.65}

function newClient(url: string, concurrency: number): RegistryClient {
  return new RegistryClient({
    maxConcurrency: concurrency,
    rateLimit: null,
    retry: {exponentialBase: 2, initialDelay: 0.2, jitter: true, maxDelay: 2, maxRetries: 3, timeoutMs: 60_000},
    url,
  })
}

/** Pushes tags `from`…`to - 1` (80 % environment, 20 % model), sharing one config and three layers. */
export async function seedRegistry(url: string, from: number, to: number, concurrency: number): Promise<void> {
  const client = newClient(url, concurrency)
  const layers = Array.from({length: 3}, (_, i) => Buffer.alloc(1024 * (i + 1), i + 1))
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: {diff_ids: layers.map((l) => sha256Digest(l)), type: 'layers'},
    }),
  )
  for (const repo of REPOS) {
    for (const blob of [...layers, config]) {
      // eslint-disable-next-line no-await-in-loop
      const size = await client.headBlob(repo, sha256Digest(blob))
      // eslint-disable-next-line no-await-in-loop
      if (size === null) await client.uploadBlob(repo, sha256Digest(blob), blob)
    }
  }

  const descriptor = (mediaType: string, blob: Buffer) => ({digest: sha256Digest(blob), mediaType, size: blob.length})
  const work = Array.from({length: to - from}, (_, k) => from + k)
  await mapLimit(work, concurrency * 2, async (i) => {
    const tag = `${i.toString(16).padStart(24, '0')}-${i % 7}`
    const manifest = Buffer.from(
      JSON.stringify({
        annotations: {'org.drc.bench.tag': tag},
        config: descriptor('application/vnd.oci.image.config.v1+json', config),
        layers: layers.map((l) => descriptor('application/vnd.oci.image.layer.v1.tar+gzip', l)),
        mediaType: MediaType.OCI_MANIFEST,
        schemaVersion: 2,
      }),
    )
    await client.putManifest(i % 5 === 4 ? REPOS[1] : REPOS[0], tag, manifest, MediaType.OCI_MANIFEST)
  })
  await client.close()
}

interface ProcessRun {
  rssMb: number
  seconds: number
  stdout: string
}

/** Runs `node <args>` to completion; wall time from spawn to exit, peak RSS as the child reports it. */
async function timedNode(args: string[], opts: {cwd: string; env: NodeJS.ProcessEnv}): Promise<ProcessRun> {
  const rssFile = path.join(opts.cwd, `rss-${process.hrtime.bigint()}`)
  const t0 = performance.now()
  const child = spawn(process.execPath, ['--import', path.join(ROOT, 'bench/peak-rss.mjs'), ...args], {
    cwd: opts.cwd,
    env: {...opts.env, BENCH_RSS_FILE: rssFile},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString()
  })
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString()
  })
  const code = await new Promise<null | number>((resolve) => {
    child.on('close', resolve)
  })
  const seconds = (performance.now() - t0) / 1000
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}${stdout.slice(-500)}`)
  return {rssMb: Math.round(Number(readFileSync(rssFile, 'utf8')) / 1024), seconds, stdout}
}

/** The environment of every child: no cluster (HOME without ~/.kube, no KUBECONFIG) and no NODE_OPTIONS loader. */
function childEnv(home: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(KUBECONFIG|KUBERNETES_|NODE_OPTIONS|REGISTRY_|OUTPUT_DIR)/.test(k)),
  )
  return {...env, FORCE_COLOR: '0', HOME: home, NO_COLOR: '1'}
}

interface SizeResult {
  bare: Record<'fetch GET' | 'fetch HEAD' | 'http GET' | 'http HEAD', ProcessRun>
  /** A warm run of the checkout's bin/run.js, and whether the checkout had its oclif manifest. */
  checkout: ProcessRun & {manifest: boolean}
  cold: ProcessRun
  pushSeconds: number
  tags: number
  warm: ProcessRun
}

async function benchSize(
  opts: RegistryScanOptions & {bin: string},
  tags: number,
  pushSeconds: number,
): Promise<SizeResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'drc-bench-scan-'))
  try {
    const env = childEnv(dir)
    // drc reads .drcrc.json from its working directory; no rate limit, the bare loops have none either.
    const drcConfig = {
      analysis: {max_workers: opts.concurrency, output_dir: path.join(dir, 'reports')},
      rate_limit: {enabled: false},
      registry: {repository: 'bench', url: opts.registryUrl},
    }
    writeFileSync(path.join(dir, '.drcrc.json'), JSON.stringify(drcConfig))
    const bare = async (client: 'fetch' | 'http', method: 'GET' | 'HEAD') =>
      timedNode(
        [
          path.join(ROOT, 'bench/bare-loop.mjs'),
          client,
          method,
          opts.registryUrl,
          String(opts.concurrency),
          MANIFEST_ACCEPT,
          ...REPOS,
        ],
        {cwd: dir, env},
      )
    await bare('http', 'GET') // warm-up: the registry's own caches and the OS page cache
    const scan = ['report', 'image-size', '--generate-reports', '--json', '--limit', '0']
    const cold = await timedNode([opts.bin, ...scan], {cwd: dir, env})
    const warm = await timedNode([opts.bin, ...scan], {cwd: dir, env})
    const manifest = existsSync(path.join(ROOT, 'oclif.manifest.json'))
    const checkout = {...(await timedNode([path.join(ROOT, 'bin/run.js'), ...scan], {cwd: dir, env})), manifest}
    // Every tag is a distinct manifest: one image row per tag.
    const scanned = (JSON.parse(warm.stdout) as {result: {images: unknown[]}}).result.images.length
    if (scanned !== tags) throw new Error(`drc listed ${scanned} images, the registry has ${tags} tags`)
    return {
      bare: {
        'fetch GET': await bare('fetch', 'GET'),
        'fetch HEAD': await bare('fetch', 'HEAD'),
        'http GET': await bare('http', 'GET'),
        'http HEAD': await bare('http', 'HEAD'),
      },
      checkout,
      cold,
      pushSeconds,
      tags,
      warm,
    }
  } finally {
    rmSync(dir, {force: true, recursive: true})
  }
}

const r2 = (n: number): string => (Math.round(n * 100) / 100).toFixed(2)

/** drc's throughput over a baseline's (same tag count), marked against the goal. */
function ratio(drc: ProcessRun, bare: ProcessRun, goal: number): string {
  const x = bare.seconds / drc.seconds
  return `${r2(x)} ${x >= goal ? '✓' : '✗'}`
}

/** One markdown table over every size: each process's wall time, throughput, peak RSS and drc's ratios. */
export function scanTable(results: SizeResult[]): string {
  const lines = [
    '| images | process | wall (s) | tags/s | peak RSS (MB) | drc / bare fetch | drc / bare node:http |',
    '|---:|---|---:|---:|---:|---:|---:|',
  ]
  for (const s of results) {
    const rate = (p: ProcessRun): number => s.tags / p.seconds
    const row = (name: string, p: ProcessRun, ratios = ['', '']) =>
      lines.push(
        `| ${s.tags} | ${name} | ${r2(p.seconds)} | ${Math.round(rate(p))} | ${p.rssMb} | ${ratios.join(' | ')} |`,
      )
    row('drc cold (GET per tag)', s.cold, [
      ratio(s.cold, s.bare['fetch GET'], GOAL.fetch),
      ratio(s.cold, s.bare['http GET'], GOAL.http),
    ])
    row('drc warm (HEAD per tag)', s.warm, [
      ratio(s.warm, s.bare['fetch HEAD'], GOAL.fetch),
      ratio(s.warm, s.bare['http HEAD'], GOAL.http),
    ])
    row(`drc warm, checkout (${s.checkout.manifest ? 'its manifest' : 'no manifest'})`, s.checkout, [
      ratio(s.checkout, s.bare['fetch HEAD'], GOAL.fetch),
      ratio(s.checkout, s.bare['http HEAD'], GOAL.http),
    ])
    for (const [name, p] of Object.entries(s.bare)) row(`bare ${name}`, p)
  }

  const push = results.map((s) => `${s.tags}: ${r2(s.pushSeconds)} s`).join(', ')
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')
  return [
    ...lines,
    '',
    `Goal: drc ≥ ${GOAL.fetch} of bare fetch and ≥ ${GOAL.http} of bare node:http. Push (cumulative sizes): ${push}.`,
    `${os.cpus().length} CPUs, load average ${load}, node ${process.version}.`,
  ].join('\n')
}

export async function benchRegistryScan(opts: RegistryScanOptions): Promise<string> {
  const results: SizeResult[] = []
  const cliDir = mkdtempSync(path.join(os.tmpdir(), 'drc-bench-cli-'))
  try {
    const bin = stageInstalledCli(ROOT, cliDir)
    let pushed = 0
    for (const size of opts.sizes) {
      const t0 = performance.now()
      // eslint-disable-next-line no-await-in-loop -- sizes build on each other
      await seedRegistry(opts.registryUrl, pushed, size, opts.concurrency)
      pushed = size
      // eslint-disable-next-line no-await-in-loop -- one measurement at a time, on a quiet machine
      results.push(await benchSize({...opts, bin}, size, (performance.now() - t0) / 1000))
    }
  } finally {
    rmSync(cliDir, {force: true, recursive: true})
  }

  return scanTable(results)
}
