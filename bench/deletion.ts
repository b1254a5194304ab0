import {mkdtempSync} from 'node:fs'
/**
 * Deletion throughput (issue 11 part 8): `--apply` of N planned images through the real lifecycle (external local
 * registry: no unlock, no backup, no Kubernetes; MongoDB in FerretDB) against a bare loop of HEAD tag + DELETE +
 * HEAD digest at the same concurrency, in the same run, behind the same counting proxy. Reports the throughput
 * ratio, requests per deleted image, and the live re-check's cost per image at 20,000 revisions / 200,000 runs.
 * Standalone: `node --import tsx bench/deletion.ts`; `npm run bench -- --only deletion` runs it as a section.
 *   BENCH_DELETE_SIZES=250,1000 (plan sizes), BENCH_DELETE_CONCURRENCY=4, BENCH_RECHECK_RUNS=200000,
 *   BENCH_BACKUP_IMAGES=200 (the backup phase: index.json per image vs per batch; bench/backup-batch.ts)
 */
import http from 'node:http'
import {loadavg, tmpdir} from 'node:os'
import path from 'node:path'

import type {BenchRow} from './registry-scan.js'

import {loadConfig} from '../packages/core/src/config/load.js'
import {REQUIRED_COLLECTIONS} from '../packages/core/src/health/checks/mongodb.js'
import {runDeletionPipeline} from '../packages/core/src/lifecycle/pipeline.js'
import {pushImages} from '../test/fixtures/push-images.js'
import {testClient} from '../test/registry/helpers.js'
import {forwardRequest} from '../test/support/fault-proxy.js'
import {startMongo} from '../test/support/ferretdb.js'
import {freePort} from '../test/support/ports.js'
import {startRegistry} from '../test/support/registry.js'
import {benchBackupBatch} from './backup-batch.js'
import {benchRecheck} from './recheck.js'

const ENV_REPO = 'dominodatalab/environment'
const BARE_REPO = 'bench/bare'

/** A proxy that counts requests by method (both loops go through it, so it costs them the same). */
async function countingProxy(target: string) {
  const upstream = new URL(target)
  const agent = new http.Agent({keepAlive: true, maxSockets: 64})
  const counts = {DELETE: 0, GET: 0, HEAD: 0, other: 0}
  const port = await freePort()
  const server = http.createServer((req, res) => {
    const m = req.method as keyof typeof counts
    counts[m in counts ? m : 'other']++
    forwardRequest(req, res, upstream, {agent, locationsTo: `http://127.0.0.1:${port}`})
  })
  await new Promise<void>((resolve) => {
    server.listen(port, '127.0.0.1', resolve)
  })
  return {
    counts,
    reset() {
      for (const k of Object.keys(counts)) counts[k as keyof typeof counts] = 0
    },
    async stop() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
      })
      agent.destroy()
    },
    total: () => counts.DELETE + counts.GET + counts.HEAD + counts.other,
    url: `http://127.0.0.1:${port}`,
  }
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0')
/** Deterministic ObjectIds, 90 days old (outside the grace period). */
const oid = (kind: number, i: number) => hex(Math.floor(Date.now() / 1000) - 90 * 86_400, 8) + hex(kind, 4) + hex(i, 12)

/** N archived environments with one revision each, none used: every image is a candidate that goes. */
async function seedArchived(uri: string, db: string, n: number): Promise<string[]> {
  const {MongoClient, ObjectId} = await import('mongodb')
  const o = (h: string) => ObjectId.createFromHexString(h)
  const client = await MongoClient.connect(uri)
  try {
    for (const name of REQUIRED_COLLECTIONS)
      // eslint-disable-next-line no-await-in-loop
      await client
        .db(db)
        .createCollection(name)
        .catch(() => {})
    const envs = Array.from({length: n}, (_, i) => oid(1, i))
    await client
      .db(db)
      .collection('environments_v2')
      .insertMany(envs.map((e, i) => ({_id: o(e), activeRevisionId: o(oid(2, i)), isArchived: true, name: e})))
    await client
      .db(db)
      .collection('environment_revisions')
      .insertMany(
        envs.map((e, i) => ({
          _id: o(oid(2, i)),
          environmentId: o(e),
          metadata: {dockerImageName: {repository: ENV_REPO, tag: `${e}-1`}, isBuilt: true},
        })),
      )
    return envs.map((e) => `${e}-1`)
  } finally {
    await client.close()
  }
}

/** The bare loop: per image HEAD tag, DELETE digest, HEAD digest (404), `concurrency` in flight. */
async function bareLoop(base: string, work: Array<{digest: string; tag: string}>, concurrency: number) {
  const agent = new http.Agent({keepAlive: true, maxSockets: concurrency})
  const call = (method: string, ref: string) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request(`${base}/v2/${BARE_REPO}/manifests/${ref}`, {
        agent,
        headers: {
          accept: 'application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json',
        },
        method,
      })
      req.on('response', (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      })
      req.on('error', reject)
      req.end()
    })
  let i = 0
  const started = performance.now()
  await Promise.all(
    Array.from({length: concurrency}, async () => {
      while (i < work.length) {
        const w = work[i++]
        /* eslint-disable no-await-in-loop -- each worker runs its requests one after the other */
        if ((await call('HEAD', w.tag)) !== 200) throw new Error(`HEAD ${w.tag}`)
        if ((await call('DELETE', w.digest)) !== 202) throw new Error(`DELETE ${w.digest}`)
        if ((await call('HEAD', w.digest)) !== 404) throw new Error(`HEAD ${w.digest} after delete`)
        /* eslint-enable no-await-in-loop */
      }
    }),
  )
  agent.destroy()
  return (performance.now() - started) / 1000
}

interface SizeResult {
  bareSeconds: number
  deleted: number
  deleteSeconds: number
  requestsPerImage: number
  runSeconds: number
  size: number
}

/** One plan size: push 2 × N images (drc's and the bare loop's), run both, same registry, same proxy. */
async function benchSize(mongoUri: string, size: number, concurrency: number): Promise<SizeResult> {
  const registry = await startRegistry()
  const proxy = await countingProxy(registry.url)
  try {
    const db = `bench_delete_${size}_${Date.now()}`
    const tags = await seedArchived(mongoUri, db, size)
    const client = testClient(registry.url)
    const layers = [{seed: `bench-delete-${size}`, size: 64}]
    await pushImages(
      client,
      tags.map((t) => ({layers, repository: ENV_REPO, tags: [t]})),
      8,
    )
    const bare = await pushImages(
      client,
      tags.map((t) => ({layers, repository: BARE_REPO, tags: [t]})),
      8,
    )
    const env = {
      DRC_DELETE_CONCURRENCY: String(concurrency),
      DRC_MONGO_URI: mongoUri,
      DRC_REGISTRY_IN_CLUSTER: 'false',
      MONGODB_DB: db,
      OUTPUT_DIR: mkdtempSync(path.join(tmpdir(), 'drc-bench-delete-')),
      REGISTRY_URL: proxy.url,
      REPOSITORY: 'dominodatalab',
    }
    // The registry request rate limit (rate_limit.*, default 10/s) is off: the bench measures the lifecycle's own
    // cost, and the bare loop has no limit either (an operator's limit caps both at the same rate).
    const loaded = await loadConfig({env, file: undefined, flags: {'rate_limit.enabled': false}})
    if (loaded.errors.length > 0) throw new Error(JSON.stringify(loaded.errors))
    const at: Record<string, number> = {}
    const runStart = performance.now()
    const {report} = await runDeletionPipeline({
      allowEmptyRepository: true,
      apply: true,
      backup: false,
      config: {...loaded.config, registry: {...loaded.config.registry, scan_repositories: [ENV_REPO]}},
      async fireHook(event) {
        at[event] = performance.now()
        if (event === 'drc:predelete') proxy.reset()
        return []
      },
      loaded,
      log() {},
      maxDelete: size,
      async plan() {
        return tags.map((tag) => ({reason: 'bench', repository: ENV_REPO, tag}))
      },
      quiet: true,
      strategy: 'bench:delete',
    })
    const runSeconds = (performance.now() - runStart) / 1000
    const requests = proxy.total()
    const deleteSeconds = (at['drc:postdelete'] - at['drc:predelete']) / 1000
    proxy.reset()
    const bareSeconds = await bareLoop(
      proxy.url,
      bare.map((b) => ({digest: b.digest, tag: b.tags[0]})),
      concurrency,
    )
    const {deleted} = report.counts
    if (deleted !== size) throw new Error(`drc deleted ${deleted} of ${size}: ${report.error ?? ''}`)
    return {bareSeconds, deleted, deleteSeconds, requestsPerImage: requests / deleted, runSeconds, size}
  } finally {
    await proxy.stop()
    await registry.stop()
  }
}

// BENCH_DELETE_SIZES=0 skips the deletion runs (e.g. to measure the re-check alone).
const listOf = (raw: string | undefined, fallback: number[]) =>
  raw
    ? raw
        .split(',')
        .map((x) => Number(x.trim()))
        .filter((n) => n > 0)
    : fallback

export async function benchDeletion(env: NodeJS.ProcessEnv = process.env): Promise<BenchRow[]> {
  const sizes = listOf(env.BENCH_DELETE_SIZES, [250, 1000])
  const concurrency = Number(env.BENCH_DELETE_CONCURRENCY ?? 4)
  const recheckRuns = Number(env.BENCH_RECHECK_RUNS ?? 200_000)
  const backupImages = Number(env.BENCH_BACKUP_IMAGES ?? 200)
  const mongo = await startMongo()
  const rows: BenchRow[] = [
    {
      name: 'load average at start',
      notes: '1/5/15 min; shared machine',
      value: loadavg()
        .map((l) => l.toFixed(1))
        .join(' '),
    },
  ]
  try {
    const results: SizeResult[] = []
    for (const size of sizes) {
      // eslint-disable-next-line no-await-in-loop -- sizes one after the other, so their timings do not mix
      const r = await benchSize(mongo.uri, size, concurrency)
      results.push(r)
      process.stderr.write(`deletion bench ${size}: ${JSON.stringify(r)}\n`)
      rows.push(
        {
          name: `drc --apply ${size}: delete phase`,
          notes: `s; ${(size / r.deleteSeconds).toFixed(0)} images/s; whole run ${r.runSeconds.toFixed(1)} s (plan + scan included)`,
          value: r.deleteSeconds.toFixed(2),
        },
        {
          name: `bare HEAD+DELETE+HEAD ${size}`,
          notes: `s; ${(size / r.bareSeconds).toFixed(0)} images/s; concurrency ${concurrency}`,
          value: r.bareSeconds.toFixed(2),
        },
        {
          name: `throughput ratio ${size} (drc / bare)`,
          notes: 'goal ≥ 0.5',
          value: (r.bareSeconds / r.deleteSeconds).toFixed(2),
        },
        {
          name: `requests per deleted image ${size}`,
          notes: 'delete phase, through the proxy (bare loop: 3)',
          value: r.requestsPerImage.toFixed(2),
        },
      )
    }

    if (results.length > 1) {
      const [a, b] = [results[0], results.at(-1)!]
      rows.push({
        name: 'linearity (time per image, largest / smallest plan)',
        notes: '1.0 = linear',
        value: (b.deleteSeconds / b.size / (a.deleteSeconds / a.size)).toFixed(2),
      })
      // The registry's own DELETE slows as its repository grows (the bare loop's time per image grows too), so
      // drc's cost is judged by what it adds per image over the bare loop, at each size.
      const added = (r: SizeResult) => ((r.deleteSeconds - r.bareSeconds) / r.size) * 1000
      rows.push({
        name: 'drc time added per image over the bare loop',
        notes: `ms; ${results.map((r) => `${r.size}: ${added(r).toFixed(1)}`).join(', ')} (equal = linear)`,
        value: added(b).toFixed(1),
      })
    }

    // The whole bench process (drc's pipeline, the counting proxy, the fixtures), before the re-check's dataset.
    rows.push({
      name: 'peak RSS after the deletion runs',
      notes: 'MB; bench process (drc pipeline + proxy + fixtures)',
      value: (process.resourceUsage().maxRSS / 1024).toFixed(0),
    })
    if (backupImages > 0) rows.push(...(await benchBackupBatch(backupImages)))
    if (recheckRuns > 0) rows.push(...(await benchRecheck(mongo.uri, recheckRuns)))
  } finally {
    await mongo.stop()
  }

  rows.push({
    name: 'load average at end',
    notes: '1/5/15 min',
    value: loadavg()
      .map((l) => l.toFixed(1))
      .join(' '),
  })
  return rows
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchDeletion())
    console.log(`${r.name.padEnd(52)} ${String(r.value).padStart(10)}  ${r.notes ?? ''}`)
  process.exit(0)
}
