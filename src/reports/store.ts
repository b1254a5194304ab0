import {mkdir, readdir, readFile, readlink, rename, symlink, unlink, writeFile} from 'node:fs/promises'
import path from 'node:path'

import type {DrcConfig} from '../config/types.js'

import {DrcError} from '../lib/errors.js'

/**
 * Every report file is this envelope: what it is (`schema` + `schema_version`), when it was made (UTC), and
 * whether it is complete. Readers check the schema and version before trusting `data`.
 */
export interface ReportEnvelope<T> {
  complete: boolean
  data: T
  generated_at: string
  schema: string
  schema_version: number
}

export interface WrittenReport {
  /** `<name>-latest.json`, unless an explicit output path was given. */
  latest: null | string
  path: string
}

export interface LatestReport<T> {
  ageHours: number
  envelope: ReportEnvelope<T>
  fresh: boolean
  path: string
}

const NAME = /^[a-z0-9][a-z0-9._-]*$/

function checkName(name: string): void {
  if (!NAME.test(name) || name.endsWith('-latest')) {
    throw new DrcError(`invalid report name "${name}": use lower-case letters, digits, '.', '_' and '-'`)
  }
}

/** `2026-01-15T14:30:00.123Z` → `2026-01-15T14-30-00Z` */
export function timestampSuffix(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replaceAll(':', '-')
}

export const latestName = (name: string): string => `${name}-latest.json`

async function atomicWrite(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), {recursive: true})
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, text)
  await rename(tmp, file)
}

/**
 * Writes `<output_dir>/<name>-YYYY-MM-DDTHH-MM-SSZ.json` and points `<name>-latest.json` at it (a relative
 * symlink, replaced atomically). With `output`, writes exactly that file and leaves the latest pointer alone.
 * Only complete data should be written: a failed run writes nothing, so "latest" never names a partial report.
 */
export async function writeReport<T>(
  config: DrcConfig,
  name: string,
  data: T,
  opts: {now?: Date; output?: string; schemaVersion?: number} = {},
): Promise<WrittenReport> {
  checkName(name)
  const now = opts.now ?? new Date()
  const envelope: ReportEnvelope<T> = {
    complete: true,
    data,
    generated_at: now.toISOString(),
    schema: name,
    schema_version: opts.schemaVersion ?? 1,
  }
  const text = `${JSON.stringify(envelope, null, 2)}\n`
  if (opts.output) {
    await atomicWrite(path.resolve(opts.output), text)
    return {latest: null, path: path.resolve(opts.output)}
  }

  const dir = path.resolve(config.analysis.output_dir)
  const file = path.join(dir, `${name}-${timestampSuffix(now)}.json`)
  await atomicWrite(file, text)
  const latest = path.join(dir, latestName(name))
  const tmpLink = `${latest}.${process.pid}.tmp`
  await unlink(tmpLink).catch(() => {})
  await symlink(path.basename(file), tmpLink)
  await rename(tmpLink, latest)
  return {latest, path: file}
}

async function newestTimestamped(dir: string, name: string): Promise<null | string> {
  const pattern = new RegExp(
    `^${name.replaceAll('.', String.raw`\.`)}-\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2}Z\\.json$`,
  )
  let files: string[]
  try {
    files = await readdir(dir)
  } catch {
    return null
  }

  // UTC timestamps in the name sort chronologically.
  const match = files.filter((f) => pattern.test(f)).sort()
  return match.length > 0 ? path.join(dir, match.at(-1)!) : null
}

/**
 * The newest complete report `name` (through the latest pointer, else the newest timestamped file), with its age.
 * `fresh` is true when it is younger than `maxAgeHours`. Returns null when there is none or it is unreadable.
 */
export async function readLatest<T>(
  config: DrcConfig,
  name: string,
  opts: {maxAgeHours: number; now?: Date; schemaVersion?: number},
): Promise<LatestReport<T> | null> {
  checkName(name)
  const dir = path.resolve(config.analysis.output_dir)
  const pointer = path.join(dir, latestName(name))
  let file: null | string = null
  try {
    file = path.resolve(dir, await readlink(pointer))
  } catch {
    file = await newestTimestamped(dir, name)
  }

  if (!file) return null
  let envelope: ReportEnvelope<T>
  try {
    envelope = JSON.parse(await readFile(file, 'utf8')) as ReportEnvelope<T>
  } catch {
    return null
  }

  if (envelope.schema !== name || !envelope.complete) return null
  if (opts.schemaVersion !== undefined && envelope.schema_version !== opts.schemaVersion) return null
  const ageHours = ((opts.now ?? new Date()).getTime() - Date.parse(envelope.generated_at)) / 3_600_000
  return {ageHours, envelope, fresh: ageHours >= 0 && ageHours < opts.maxAgeHours, path: file}
}
