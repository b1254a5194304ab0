import type {DrcConfig} from '../config/types.js'
import type {UsageGraph} from '../usage/graph.js'
import type {UsageRules} from '../usage/types.js'

import {lazySecretReader} from '../kube/client.js'
import {connectMongo, type MongoConnection} from '../services/mongo.js'
import {buildUsageGraph} from '../usage/build.js'
import {graphFromReport, USAGE_REPORT_VERSION, type UsageReport, usageReport, usageReportName} from '../usage/report.js'
import {readLatest, writeReport} from './store.js'

/** Connects through the shared factory; the MongoDB password may come from the platform's Kubernetes secret. */
export function connectUsageDb(config: DrcConfig): Promise<MongoConnection> {
  return connectMongo(config, {readSecret: lazySecretReader(config)})
}

/** Reads every usage source once (connect, build, close). Throws UsageSourceError naming a source it cannot read. */
export async function readUsageGraph(
  config: DrcConfig,
  now = new Date(),
): Promise<{database: string; graph: UsageGraph}> {
  const {client, db} = await connectUsageDb(config)
  try {
    return {database: db.databaseName, graph: await buildUsageGraph(db, {now})}
  } finally {
    await client.close()
  }
}

export interface ObtainUsageOptions {
  /** Ignore a fresh report and read MongoDB again (--generate-reports). */
  generate: boolean
  /** A report older than this is stale and rebuilt. */
  maxAgeHours: number
  /** Write exactly this file instead of a timestamped one (the latest pointer is left alone). */
  output?: string
  rules: UsageRules
}

export interface ObtainedUsage {
  generatedAt: string
  graph: UsageGraph
  /** The latest pointer this run moved (null when reused or written to an explicit --output path). */
  latest: null | string
  path: string
  report: UsageReport
  /** True when a fresh report was reused instead of reading MongoDB. */
  reused: boolean
}

/**
 * The usage graph: from the latest usage report when it is fresh (and not `generate`), else read from MongoDB
 * and written as a new timestamped report. A failed read throws before anything is written, so the latest
 * pointer never names a partial report.
 */
export async function obtainUsage(config: DrcConfig, opts: ObtainUsageOptions): Promise<ObtainedUsage> {
  const name = usageReportName(config)
  if (!opts.generate) {
    const latest = await readLatest<UsageReport>(config, name, {
      maxAgeHours: opts.maxAgeHours,
      now: opts.rules.now,
      schemaVersion: USAGE_REPORT_VERSION,
    })
    if (latest?.fresh) {
      const report = latest.envelope.data
      return {
        generatedAt: latest.envelope.generated_at,
        graph: graphFromReport(report),
        latest: null,
        path: latest.path,
        report,
        reused: true,
      }
    }
  }

  const {database, graph} = await readUsageGraph(config, opts.rules.now)
  const report = usageReport(graph, opts.rules, database)
  const written = await writeReport(config, name, report, {
    now: opts.rules.now,
    output: opts.output,
    schemaVersion: USAGE_REPORT_VERSION,
  })
  return {
    generatedAt: opts.rules.now.toISOString(),
    graph,
    latest: written.latest,
    path: written.path,
    report,
    reused: false,
  }
}
