/** Where the metrics go: a file for node_exporter's textfile collector, and/or a Pushgateway (CronJobs). */
import {randomBytes} from 'node:crypto'
import {mkdir, rename, unlink, writeFile} from 'node:fs/promises'
import path from 'node:path'

import type {MetricFigures} from './figures.js'

import {DrcError, errorMessage} from '../lib/errors.js'
import {metricsRegistry} from './registry.js'

/** Job name of every push; the grouping key adds `strategy` (deletion runs) or `command` (the others). */
export const PUSH_JOB = 'drc'

export interface MetricsTargets {
  /** --metrics-file: text exposition format, written atomically (temp file + rename in the same directory). */
  metricsFile?: string
  /** --pushgateway: base URL, e.g. http://pushgateway:9091. */
  pushgateway?: string
}

export async function writeMetricsFile(file: string, text: string): Promise<string> {
  const target = path.resolve(file)
  await mkdir(path.dirname(target), {recursive: true})
  // The collector reads only *.prom: the temp name never matches, so it never sees half a file.
  const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    // Readable by node_exporter (another user): metrics hold sizes and names, no secrets.
    await writeFile(tmp, text, {flag: 'wx', mode: 0o644})
    await rename(tmp, target)
  } catch (error) {
    await unlink(tmp).catch(() => {})
    throw new DrcError(`cannot write the metrics file ${target}: ${errorMessage(error)}`, {
      suggestions: ['Check that the directory of --metrics-file exists and is writable.'],
    })
  }

  return target
}

export function groupingOf(f: MetricFigures): Record<string, string> {
  return f.run ? {strategy: f.run.strategy} : {command: f.command}
}

/** POST (push-add): replaces this group's metrics of the same names, so a failed run keeps the last success time. */
export async function pushMetrics(url: string, f: MetricFigures): Promise<void> {
  const {Pushgateway} = await import('prom-client')
  const registry = await metricsRegistry(f)
  try {
    await new Pushgateway(url, {timeout: 10_000}, registry).pushAdd({groupings: groupingOf(f), jobName: PUSH_JOB})
  } catch (error) {
    throw new DrcError(`cannot push metrics to the Pushgateway ${url}: ${errorMessage(error)}`, {
      suggestions: ['Check --pushgateway (e.g. http://pushgateway.monitoring:9091) and that it is reachable.'],
    })
  }
}

/** Writes and/or pushes the figures; returns what was done (for the command's result). */
export async function emitMetrics(
  f: MetricFigures,
  targets: MetricsTargets,
): Promise<{metrics_file: null | string; pushgateway: null | string}> {
  let file: null | string = null
  if (targets.metricsFile)
    file = await writeMetricsFile(targets.metricsFile, await (await metricsRegistry(f)).metrics())
  if (targets.pushgateway) await pushMetrics(targets.pushgateway, f)
  return {metrics_file: file, pushgateway: targets.pushgateway ?? null}
}
