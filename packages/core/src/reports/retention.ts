import {readdir, readlink, unlink} from 'node:fs/promises'
import path from 'node:path'

/**
 * Audit reports are the record of what a run deleted (and the undo record of later clean-ups): retention never
 * removes them, whatever `reports.keep` says.
 */
export const isAuditReport = (name: string): boolean => name.endsWith('-audit')

/** The timestamp of a report file name (today's millisecond form and the older one-second form), sortable. */
export function reportFileKey(name: string, file: string): null | string {
  const escaped = name.replaceAll('.', String.raw`\.`)
  const m = new RegExp(`^${escaped}-(\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2})(\\.\\d{3})?Z\\.json$`).exec(file)
  return m ? `${m[1]}${m[2] ?? '.000'}` : null
}

/** The timestamped files of report `name` in `dir`, oldest first. */
export async function timestampedFiles(dir: string, name: string): Promise<string[]> {
  let files: string[]
  try {
    files = await readdir(dir)
  } catch {
    return []
  }

  const keyed = files.flatMap((f) => {
    const key = reportFileKey(name, f)
    return key ? [{f, key}] : []
  })
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.f < b.f ? -1 : 1))
  return keyed.map((k) => k.f)
}

/**
 * Applies `reports.keep` to report `name` after a write: keeps its newest `keep` timestamped files and removes
 * the older ones. Never touches another name's files, the file `<name>-latest.json` points at (another writer may
 * have moved it), `justWritten`, or an audit report. `keep` 0 keeps all. Returns the removed paths; a file that
 * cannot be removed is left (retention is housekeeping: it never fails the report that was written).
 */
export async function applyRetention(
  dir: string,
  name: string,
  keep: number,
  opts: {justWritten: string; latestLink: string},
): Promise<string[]> {
  if (!Number.isInteger(keep) || keep <= 0 || isAuditReport(name)) return []
  const files = await timestampedFiles(dir, name)
  const protectedFiles = new Set([path.basename(opts.justWritten)])
  const target = await readlink(opts.latestLink).catch(() => null)
  if (target) protectedFiles.add(path.basename(target))
  const removed: string[] = []
  for (const f of files.slice(0, Math.max(0, files.length - keep))) {
    if (protectedFiles.has(f)) continue
    const file = path.join(dir, f)
    // eslint-disable-next-line no-await-in-loop -- few files, removed oldest first
    const gone = await unlink(file).then(
      () => true,
      () => false,
    )
    if (gone) removed.push(file)
  }

  return removed
}
