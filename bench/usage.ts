/**
 * Usage-graph benchmark: seeds FerretDB with 20,000 environment revisions and, per size, a number of runs
 * (default 200,000 and 50,000; e.g. `BENCH_USAGE_RUNS=20000,5000` for a quick run), then builds the graph in
 * a child process per size, so wall time and peak RSS are the graph build's own. Two sizes show whether memory
 * grows with runs. Run standalone: `node --import tsx bench/usage.ts`; `npm run bench` runs it as a section.
 */
import {spawnSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'

import type {BenchRow} from './registry-scan.js'

import {generateDataset} from '../test/fixtures/dataset.js'
import {seedMongo} from '../test/fixtures/seed-mongo.js'
import {startMongo} from '../test/support/ferretdb.js'

export interface UsageBenchResult {
  environmentTags: number
  label: string
  modelTags: number
  peakRssMb: number
  revisions: number
  runs: number
  seedSeconds: number
  wallSeconds: number
}

const SELF = fileURLToPath(import.meta.url)

/** Child mode: build the graph once and print JSON with wall time and peak RSS. */
async function child(uri: string, db: string): Promise<void> {
  const {MongoClient} = await import('mongodb')
  const {buildUsageGraph} = await import('../packages/core/src/usage/build.js')
  const client = new MongoClient(uri)
  await client.connect()
  const started = performance.now()
  const graph = await buildUsageGraph(client.db(db))
  const wallSeconds = (performance.now() - started) / 1000
  await client.close()
  process.stdout.write(
    JSON.stringify({
      environmentTags: graph.data.environments.size,
      modelTags: graph.data.models.size,
      // maxRSS is in KiB; it is the high-water mark of this process only.
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      wallSeconds,
    }),
  )
}

/**
 * Default sizes of `npm run bench`: the 200,000 runs and 50,000 runs over the same 20,000 revisions
 * (measured: ~70 s for both on 2 cores, seeding included). `BENCH_USAGE_RUNS` changes them.
 */
export const DEFAULT_USAGE_RUNS = [200_000, 50_000]

/**
 * Sizes from `BENCH_USAGE_RUNS` (comma-separated run counts, e.g. `20000,5000` for a quick run),
 * else {@link DEFAULT_USAGE_RUNS}. Each size is seeded with the same environments, revisions and references.
 */
export function usageBenchSizes(env: NodeJS.ProcessEnv = process.env): Array<{label: string; runs: number}> {
  const raw = env.BENCH_USAGE_RUNS?.trim()
  const runs = raw ? raw.split(',').map((x) => Number(x.trim().replaceAll('_', ''))) : DEFAULT_USAGE_RUNS
  const bad = runs.filter((n) => !Number.isInteger(n) || n < 0)
  if (bad.length > 0 || runs.length === 0) {
    throw new Error(`BENCH_USAGE_RUNS='${raw}' must be comma-separated non-negative integers, e.g. 200000,50000`)
  }

  return runs.map((n) => ({label: `${n} runs`, runs: n}))
}

export async function benchUsage(
  opts: {log?: (line: string) => void; sizes?: Array<{label: string; runs: number}>} = {},
): Promise<UsageBenchResult[]> {
  const log = opts.log ?? console.log
  const sizes = opts.sizes ?? usageBenchSizes()
  const mongo = await startMongo()
  const results: UsageBenchResult[] = []
  try {
    for (const size of sizes) {
      // Same seed and counts except runs: the environments, revisions and references are identical.
      const dataset = generateDataset({
        environments: 4000,
        models: 200,
        now: new Date('2026-03-01T00:00:00Z'),
        revisionsPerEnvironment: 5,
        runs: size.runs,
        seed: 2026,
        users: 200,
        versionsPerModel: 3,
      })
      const db = `bench_usage_${size.runs}`
      const seedStart = performance.now()
      // eslint-disable-next-line no-await-in-loop -- sizes run one after the other, so their timings do not mix
      await seedMongo(mongo.uri, db, dataset, {batchSize: 5000})
      const seedSeconds = (performance.now() - seedStart) / 1000
      // No heap flags: this is the memory an operator's `drc` process uses.
      const run = spawnSync(process.execPath, ['--import', 'tsx', SELF, '--child', mongo.uri, db], {
        encoding: 'utf8',
        maxBuffer: 1_048_576,
      })
      if (run.status !== 0) throw new Error(`usage graph build failed for ${size.label}: ${run.stderr}`)
      const r = JSON.parse(run.stdout) as Omit<UsageBenchResult, 'label' | 'revisions' | 'runs' | 'seedSeconds'>
      const result = {
        ...r,
        label: size.label,
        revisions: dataset.collections.environment_revisions.length,
        runs: dataset.collections.runs.length,
        seedSeconds,
      }
      results.push(result)
      log(
        `usage graph [${result.label}]: ${result.runs} runs, ${result.revisions} revisions → ` +
          `${result.environmentTags} environment + ${result.modelTags} model tags in ${result.wallSeconds.toFixed(2)} s, ` +
          `peak RSS ${result.peakRssMb} MB (seeding took ${result.seedSeconds.toFixed(1)} s)`,
      )
    }
  } finally {
    await mongo.stop()
  }

  return results
}

/** Rows for the `npm run bench` table: wall time and peak RSS per size, and whether RSS stays under 300 MB. */
export function usageBenchRows(results: UsageBenchResult[]): BenchRow[] {
  const rows: BenchRow[] = []
  for (const r of results) {
    rows.push(
      {
        name: `graph build, ${r.runs} runs`,
        notes: `s wall; ${r.revisions} revisions → ${r.environmentTags} env + ${r.modelTags} model tags; seeding ${r.seedSeconds.toFixed(1)} s`,
        value: r.wallSeconds.toFixed(2),
      },
      {name: `peak RSS, ${r.runs} runs`, notes: 'MB, the graph-building process only', value: r.peakRssMb},
    )
  }

  const peak = Math.max(...results.map((r) => r.peakRssMb))
  rows.push({name: 'peak RSS under 300 MB', notes: `max ${peak} MB`, value: peak < 300 ? 'yes' : 'NO'})
  return rows
}

if (process.argv[1] === SELF) {
  if (process.argv[2] === '--child') {
    await child(process.argv[3], process.argv[4])
  } else {
    const results = await benchUsage()
    const over = results.filter((r) => r.peakRssMb >= 300)
    if (over.length > 0) {
      console.error(`peak RSS over 300 MB: ${over.map((r) => r.label).join(', ')}`)
      process.exitCode = 1
    }
  }
}
