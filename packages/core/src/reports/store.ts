import {randomBytes} from 'node:crypto'
import {link, readFile, readlink, rename, symlink, unlink} from 'node:fs/promises'
import path from 'node:path'

import type {DrcConfig} from '../config/types.js'

import {DrcError} from '../lib/errors.js'
import {makePrivateDir, writePrivateFile} from '../lib/private-files.js'
import {applyRetention, timestampedFiles} from './retention.js'

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
  /** Older files of the same report removed by retention (`reports.keep`) after this write. */
  removed: string[]
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

/** `2026-01-15T14:30:00.123Z` → `2026-01-15T14-30-00.123Z` (UTC to the millisecond; sorts chronologically). */
export function timestampSuffix(d: Date): string {
  return d.toISOString().replaceAll(':', '-')
}

/** A command id or strategy name as it appears in file names: `unused:delete` → `unused-delete`. */
export function fileSlug(id: string): string {
  return id.replaceAll(/[^a-z0-9]+/gi, '-').toLowerCase()
}

/**
 * Where a run's MongoDB undo journal goes: `<output_dir>/mongo-undo/<strategy>-<time>.json` for removed documents,
 * `<strategy>-updates-<time>.json` for changed ones (drc mongo restore and --undo read either).
 */
export function undoJournalPath(outputDir: string, strategy: string, started: Date, kind?: 'updates'): string {
  const name = [fileSlug(strategy), kind, timestampSuffix(started)].filter(Boolean).join('-')
  return path.resolve(outputDir, 'mongo-undo', `${name}.json`)
}

/** The predecessor's one-second form `2026-01-15T14-30-00Z`, kept for its legacy file names only. */
export function legacyTimestampSuffix(d: Date): string {
  return timestampSuffix(d).replace(/\.\d{3}Z$/, 'Z')
}

export const latestName = (name: string): string => `${name}-latest.json`

const tmpName = (file: string): string => `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`

async function atomicWrite(file: string, text: string): Promise<void> {
  await makePrivateDir(path.dirname(file))
  const tmp = tmpName(file)
  await writePrivateFile(tmp, text, 'wx')
  await rename(tmp, file)
}

/**
 * Writes `text` under `<name>-<now>.json`, never over another report: the complete file is linked into place,
 * which fails when the name is taken (another report in the same millisecond); the name then moves on to the
 * next free millisecond, so names stay unique, sortable and in creation order.
 */
async function createUnique(dir: string, name: string, now: Date, text: string): Promise<string> {
  await makePrivateDir(dir)
  const tmp = tmpName(path.join(dir, name))
  await writePrivateFile(tmp, text, 'wx')
  try {
    for (let i = 0; i < 1000; i++) {
      const file = path.join(dir, `${name}-${timestampSuffix(new Date(now.getTime() + i))}.json`)
      try {
        // eslint-disable-next-line no-await-in-loop
        await link(tmp, file)
        return file
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      }
    }
  } finally {
    await unlink(tmp).catch(() => {})
  }

  throw new DrcError(`cannot find a free file name for report ${name} in ${dir}`)
}

/** Points `<name>-latest.json` at `file` (the report just written: the last writer wins, whatever the clock says). */
async function pointLatest(dir: string, name: string, file: string): Promise<string> {
  const latest = path.join(dir, latestName(name))
  const tmpLink = tmpName(latest)
  await symlink(path.basename(file), tmpLink)
  await rename(tmpLink, latest)
  return latest
}

/**
 * Writes `<output_dir>/<name>-YYYY-MM-DDTHH-MM-SS.mmmZ.json` (mode 0600, unique) and points `<name>-latest.json` at it (a relative
 * symlink, replaced atomically), then applies retention (`reports.keep`, src/reports/retention.ts) to that report name.
 * With `output`, writes exactly that file and leaves the latest pointer and older reports alone.
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
    return {latest: null, path: path.resolve(opts.output), removed: []}
  }

  const dir = path.resolve(config.analysis.output_dir)
  const file = await createUnique(dir, name, now, text)
  const latest = await pointLatest(dir, name, file)
  const removed = await applyRetention(dir, name, config.reports?.keep ?? 0, {justWritten: file, latestLink: latest})
  return {latest, path: file, removed}
}

async function newestTimestamped(dir: string, name: string): Promise<null | string> {
  // UTC timestamps in the name sort chronologically (one-second names of older versions count as .000).
  const newest = (await timestampedFiles(dir, name)).at(-1)
  return newest ? path.join(dir, newest) : null
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
