/**
 * Usage-graph benchmark: seeds FerretDB with 200,000 runs / 20,000 environment revisions (and 50,000 runs with
 * the same revisions), then builds the graph in a child process per size, so wall time and peak RSS are the
 * graph build's own. Run standalone: `node --import tsx bench/usage.ts`; scripts/bench.ts calls benchUsage().
 */
import {spawnSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'

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
  const {buildUsageGraph} = await import('../src/usage/build.js')
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

export async function benchUsage(
  opts: {log?: (line: string) => void; sizes?: Array<{label: string; runs: number}>} = {},
): Promise<UsageBenchResult[]> {
  const log = opts.log ?? console.log
  const sizes = opts.sizes ?? [
    {label: 'large', runs: 200_000},
    {label: 'small', runs: 50_000},
  ]
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
      const db = `bench_usage_${size.label}`
      const seedStart = performance.now()
      await seedMongo(mongo.uri, db, dataset, {batchSize: 5000})
      const seedSeconds = (performance.now() - seedStart) / 1000
      // A bounded old space makes V8 collect the streamed run documents instead of letting garbage pile up;
      // the live data (per-revision state) fits well inside it, which is the point being measured.
      const run = spawnSync(
        process.execPath,
        ['--max-old-space-size=160', '--import', 'tsx', SELF, '--child', mongo.uri, db],
        {
          encoding: 'utf8',
          maxBuffer: 1 << 20,
        },
      )
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
