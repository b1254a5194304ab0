/**
 * The live re-check's cost per image (issue 11 part 8) at 20,000 revisions / `runs` runs, in FerretDB: batched as
 * the lifecycle runs it, and one image at a time; with where the time goes per collection. Part of the deletion
 * section (bench/deletion.ts, BENCH_RECHECK_RUNS).
 */
import type {BenchRow} from './registry-scan.js'

import {areInUse, isInUse} from '../packages/core/src/usage/live.js'
import {generateDataset} from '../test/fixtures/dataset.js'
import {seedMongo} from '../test/fixtures/seed-mongo.js'

/** The live re-check at 20,000 revisions / `runs` runs: batched (as the lifecycle runs it) and one image at a time. */
export async function benchRecheck(mongoUri: string, runs: number): Promise<BenchRow[]> {
  const dataset = generateDataset({
    environments: 4000,
    models: 200,
    now: new Date(),
    revisionsPerEnvironment: 5,
    runs,
    seed: 2026,
    users: 200,
    versionsPerModel: 3,
  })
  const db = `bench_recheck_${runs}_${Date.now()}`
  await seedMongo(mongoUri, db, dataset, {batchSize: 5000})
  process.stderr.write(`re-check bench: seeded ${runs} runs\n`)
  const {MongoClient} = await import('mongodb')
  // Command monitoring: where a re-check's time goes, per collection (MongoDB's own duration of each find).
  const client = await MongoClient.connect(mongoUri, {monitorCommands: true})
  const names = new Map<number, string>()
  const byCollection = new Map<string, number>()
  client.on('commandStarted', (e) =>
    names.set(e.requestId, String(e.commandName === 'getMore' ? e.command.collection : e.command[e.commandName])),
  )
  client.on('commandSucceeded', (e) => {
    const c = names.get(e.requestId) ?? '?'
    byCollection.set(c, (byCollection.get(c) ?? 0) + e.duration)
  })
  try {
    const rules = {gracePeriodDays: 7, now: new Date()}
    const refs = dataset.collections.environment_revisions
      .map((r) => `environment:${r.metadata.dockerImageName.tag as string}`)
      .filter((_, i) => i % 97 === 0)
      .slice(0, 96)
    const note = `${dataset.collections.environment_revisions.length} revisions, ${dataset.collections.runs.length} runs`
    const rows: BenchRow[] = []
    // 32: the smallest lifecycle batch; 64: the default at delete_concurrency 4 (16 × concurrency, 32..100).
    for (const size of [32, 64]) {
      byCollection.clear()
      const started = performance.now()
      for (let i = 0; i + size <= refs.length; i += size)
        // eslint-disable-next-line no-await-in-loop -- batches one after the other, as the lifecycle runs them
        await areInUse(client.db(db), refs.slice(i, i + size), rules)
      const n = Math.floor(refs.length / size) * size
      const perImage = (performance.now() - started) / n
      const top = [...byCollection]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([c, ms]) => `${c} ${(ms / n).toFixed(0)}`)
        .join(', ')
      process.stderr.write(`re-check bench: ${perImage.toFixed(1)} ms per image in batches of ${size} (${top})\n`)
      rows.push({
        name: `re-check per image, batches of ${size}`,
        notes: `ms; ${note}; per image by collection: ${top}`,
        value: perImage.toFixed(1),
      })
    }

    const started = performance.now()
    for (const r of refs.slice(0, 4))
      // eslint-disable-next-line no-await-in-loop
      await isInUse(client.db(db), r, rules)
    rows.push({
      name: 're-check per image, one at a time',
      notes: `ms; ${note}`,
      value: ((performance.now() - started) / 4).toFixed(1),
    })
    return rows
  } finally {
    await client.close()
  }
}
