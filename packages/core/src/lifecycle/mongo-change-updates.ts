import type {Db} from 'mongodb'

import {Flags} from '@oclif/core'
import {readFile} from 'node:fs/promises'

import type {MongoUpdateResult, PlannedUpdate, UndoUpdatesResult} from '../mongo/updates.js'

import {errorMessage, UsageError} from '../lib/errors.js'

/**
 * `--undo <audit report>` for the MongoDB-only commands that change documents (opt in: `static flags =
 * {...undoFlags}`). Dry run unless --apply, like the change itself.
 */
export const undoFlags = {
  undo: Flags.string({
    description: 'Undo the changes of this audit report (of this command): dry run unless --apply.',
    helpGroup: 'CHANGE',
  }),
}

/** Saves each document whole, then updates it (src/mongo/updates.ts). The journal sits next to the delete one. */
export async function runUpdates(opts: {
  db: Db
  outputDir: string
  result: MongoUpdateResult
  signal: AbortSignal
  startedAt: string
  strategy: string
  updates: PlannedUpdate[]
}): Promise<void> {
  const [{applyUpdates}, {undoJournalPath}] = await Promise.all([
    import('../mongo/updates.js'),
    import('../reports/store.js'),
  ])
  const journalPath = undoJournalPath(opts.outputDir, opts.strategy, new Date(opts.startedAt), 'updates')
  await applyUpdates({...opts, journalPath})
}

/**
 * Reads the audit report `file` and undoes (or, with dryRun, checks) its changes. A report of another command or
 * another database is refused (exit 2) before anything is read from MongoDB.
 */
export async function runUndo(opts: {
  db: Db
  dryRun: boolean
  file: string
  /** The command's id and aliases: a report must name one of them. */
  strategies: string[]
}): Promise<UndoUpdatesResult> {
  const text = await readFile(opts.file, 'utf8').catch((error: unknown) => {
    throw new UsageError(`cannot read ${opts.file}: ${errorMessage(error)}`)
  })
  const {undoUpdates, updateSourceOf} = await import('../mongo/updates.js')
  const source = updateSourceOf(text)
  if (!source)
    throw new UsageError(`${opts.file} lists no MongoDB documents changed by drc`, [
      `pass the audit report of an --apply run of ${opts.strategies[0]} (or its journal under mongo-undo/)`,
    ])
  if (source.strategy && !opts.strategies.includes(source.strategy))
    throw new UsageError(`${opts.file} is a report of ${source.strategy}, not of ${opts.strategies[0]}`, [
      `undo it with drc ${source.strategy} --undo ${opts.file}`,
    ])
  if (source.database !== opts.db.databaseName)
    throw new UsageError(
      `${opts.file} lists documents of database ${source.database}, the configuration names ${opts.db.databaseName}`,
      [`set mongo.db (MONGODB_DB) to ${source.database} to undo them where they were changed`],
    )
  return undoUpdates(opts.db, source.updated, {dryRun: opts.dryRun})
}

/** The human lines about changes and undo (the removal lines are the command's own). */
export function updateLines(
  report: {
    apply: boolean
    mongo_updates?: MongoUpdateResult | null
    planned_updates?: PlannedUpdate[]
    strategy: string
    undo?: null | UndoUpdatesResult
  },
  reportPath: null | string,
): string[] {
  const lines: string[] = []
  const {undo} = report
  if (undo) {
    const verb = undo.dry_run ? 'would put back' : 'put back'
    for (const r of undo.reverted) lines.push(`  ✓ ${verb} ${r.collection} ${r.id}`)
    for (const r of undo.refused) lines.push(`  ✗ refused ${r.collection} ${r.id}: ${r.reason}`)
    lines.push(`${undo.reverted.length} ${verb}, ${undo.refused.length} refused`)
    return lines
  }

  const planned = report.planned_updates ?? []
  if (planned.length === 0 && !report.mongo_updates) return lines
  const what = (u: PlannedUpdate) =>
    [
      ...Object.entries(u.set).map(([f, v]) => `set ${f}=${JSON.stringify(v)}`),
      ...u.unset.map((f) => `unset ${f}`),
    ].join(', ')
  if (!report.apply) for (const u of planned) lines.push(`  change ${u.collection} ${u.id}: ${what(u)}  (${u.reason})`)
  const mu = report.mongo_updates
  for (const u of mu?.updated ?? []) lines.push(`  ✓ changed ${u.collection} ${u.id}: ${what(u)}`)
  for (const k of mu?.kept ?? []) lines.push(`  - kept   ${k.collection} ${k.id}: ${k.reason}`)
  lines.push(`${planned.length} changes planned${mu ? `, ${mu.updated.length} made` : ''}`)
  if (mu && mu.updated.length > 0) lines.push(`undo: drc ${report.strategy} --undo ${reportPath ?? mu.journal}`)
  return lines
}
