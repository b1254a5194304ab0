import {mkdir, readFile, rename, writeFile} from 'node:fs/promises'
import path from 'node:path'

import type {DrcConfig} from '../config/types.js'

import {registryBaseUrl} from '../registry/client.js'

/**
 * When a registry last lost images through drc (the delete phase writes it): a report generated before that
 * presents pre-deletion figures, so the freshness check treats it as stale. One small JSON file in the report
 * directory, keyed by registry URL.
 */
const MARKER = '.last-deletion.json'

const markerPath = (config: Pick<DrcConfig, 'analysis'>) => path.resolve(config.analysis.output_dir, MARKER)
const keyOf = (config: Pick<DrcConfig, 'registry'>) => registryBaseUrl(config.registry.url, config.registry.insecure)

async function readMarker(config: Pick<DrcConfig, 'analysis'>): Promise<Record<string, string>> {
  try {
    const parsed: unknown = JSON.parse(await readFile(markerPath(config), 'utf8'))
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, string>) : {}
  } catch {
    return {}
  }
}

/** Records that `config.registry` lost images at `at` (after the deletes, so the plan's own scan is older). */
export async function markDeletion(config: Pick<DrcConfig, 'analysis' | 'registry'>, at: Date): Promise<void> {
  const all = await readMarker(config)
  all[keyOf(config)] = at.toISOString()
  const file = markerPath(config)
  await mkdir(path.dirname(file), {mode: 0o700, recursive: true})
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, `${JSON.stringify(all, null, 2)}\n`, {mode: 0o600})
  await rename(tmp, file)
}

/** When drc last deleted from `config.registry`, or null. */
export async function lastDeletion(config: Pick<DrcConfig, 'analysis' | 'registry'>): Promise<Date | null> {
  const at = (await readMarker(config))[keyOf(config)]
  const d = at ? new Date(at) : null
  return d && !Number.isNaN(d.getTime()) ? d : null
}

/** A report generated before the registry's last deletion describes images that are gone. */
export async function predatesLastDeletion(
  config: Pick<DrcConfig, 'analysis' | 'registry'>,
  generatedAt: string,
): Promise<boolean> {
  const last = await lastDeletion(config)
  return last !== null && new Date(generatedAt).getTime() <= last.getTime()
}
