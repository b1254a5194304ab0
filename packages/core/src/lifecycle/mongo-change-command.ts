import type {Db} from 'mongodb'

import {type Command, Flags} from '@oclif/core'

import type {DrcConfig} from '../config/types.js'
import type {KeptRecord, MongoCleanupResult} from '../mongo/types.js'
import type {MongoUpdateResult, PlannedUpdate, UndoUpdatesResult} from '../mongo/updates.js'
import type {MongoRecord} from './types.js'

import {BaseCommand} from '../lib/base-command.js'
import {DrcError, errorMessage, UsageError} from '../lib/errors.js'
import {ExitCode, type ExitCodeValue} from '../lib/exit-codes.js'
import {runUndo, runUpdates, updateLines} from './mongo-change-updates.js'

/** A document a MongoDB-only command proposes to remove, with the evidence for why. */
export interface PlannedRemoval extends MongoRecord {
  reason: string
}

/** What a MongoDB-only command's plan returns: what goes, what was looked at and stays (with why). */
export interface MongoChange {
  kept: KeptRecord[]
  removals: PlannedRemoval[]
  /** Documents to change (src/mongo/updates.ts): each saved whole first; `--undo <audit>` puts them back. */
  updates?: PlannedUpdate[]
  warnings?: string[]
}

export interface MongoChangeContext {
  config: DrcConfig
  db: Db
  log(message: string): void
}

/** The plan (dry run) or audit (--apply) report of a MongoDB-only command. `drc mongo restore` reads `mongo_cleanup`. */
export interface MongoChangeReport {
  apply: boolean
  counts: {kept: number; planned: number; removed: number; updated?: number}
  database: string
  error: null | string
  exit_code: ExitCodeValue
  finished_at: string
  /** Kept by the plan, by the re-check right before the removal, or by the guards (src/mongo/guards.ts). */
  kept: KeptRecord[]
  /** --apply: every removed document whole (canonical Extended JSON), the undo of this run. */
  mongo_cleanup: MongoCleanupResult | null
  /** --apply: every changed document's previous version (canonical Extended JSON): what --undo puts back. */
  mongo_updates?: MongoUpdateResult | null
  planned: PlannedRemoval[]
  planned_updates?: PlannedUpdate[]
  started_at: string
  status: 'cancelled' | 'completed' | 'failed' | 'planned'
  strategy: string
  /** --undo: the documents put back (or, in a dry run, that would be) and those refused, with why. */
  undo?: null | UndoUpdatesResult
  warnings: string[]
}

export interface MongoChangeResult extends MongoChangeReport {
  report_path: null | string
}

interface ChangeFlags {
  apply?: boolean
  'dry-run'?: boolean
  force?: boolean
  undo?: string
}

/**
 * Base of every command that changes only MongoDB (e.g. `drc references delete`, `drc mongo cleanup`): a subclass
 * implements planChange(). The same rules as DeletionCommand: dry run unless --apply; --apply asks unless --force
 * and refuses without a terminal; right before the removal the subclass may re-check (recheck()); every document
 * is saved whole to an undo journal before its delete, past the clean-up guards (src/mongo/cleanup.ts); a plan or
 * audit report is written on every path, and `drc mongo restore <audit>` puts the documents back.
 */
export abstract class MongoChangeCommand<T extends typeof Command> extends BaseCommand<T> {
  static baseFlags = {
    ...BaseCommand.baseFlags,
    apply: Flags.boolean({
      description: 'Remove for real (default: dry run, which prints the plan and changes nothing).',
      helpGroup: 'CHANGE',
    }),
    'dry-run': Flags.boolean({description: 'Only plan.', helpGroup: 'CHANGE'}),
    force: Flags.boolean({
      description: 'With --apply: do not ask for confirmation (needed without a terminal).',
      helpGroup: 'CHANGE',
    }),
  }

  /** The documents to remove, each with its evidence. Read-only: it must not change anything. */
  abstract planChange(ctx: MongoChangeContext): Promise<MongoChange>

  /**
   * Right before the removal (after the confirmation): the planned records that must stay now, with why. A
   * subclass whose evidence can change (e.g. an image pushed again) re-reads it here; throw to refuse the run.
   */
  async recheck(_ctx: MongoChangeContext, _removals: PlannedRemoval[]): Promise<Map<string, string>> {
    return new Map()
  }

  async run(): Promise<MongoChangeResult> {
    const raw = this.flags as unknown as ChangeFlags
    const apply = Boolean(raw.apply)
    if (apply && raw['dry-run']) throw new UsageError('--apply and --dry-run contradict each other: pick one')
    if (raw.force && !apply) throw new UsageError('--force only makes sense with --apply')
    const config = await this.loadDrcConfig()
    const askYesNo = await this.confirmation(raw, config)
    const [{connectMongo}, {lazySecretReader}] = await Promise.all([
      import('../services/mongo.js'),
      import('../kube/client.js'),
    ])
    const quiet = this.jsonEnabled()
    const ctx = (db: Db): MongoChangeContext => ({
      config,
      db,
      log: (m) => {
        if (!quiet) this.logToStderr(m)
      },
    })
    const {client, db} = await connectMongo(config, {readSecret: lazySecretReader(config)})
    const report = this.emptyReport(apply, db.databaseName)
    try {
      const ask = askYesNo
      await (raw.undo ? this.undoChange(db, report, raw.undo, ask) : this.planAndApply(ctx(db), report, ask))
      report.status = apply ? 'completed' : 'planned'
    } catch (error) {
      report.error = errorMessage(error)
      report.status = error instanceof DrcError && error.exitCode === ExitCode.CANCELLED ? 'cancelled' : 'failed'
      report.exit_code = error instanceof DrcError ? error.exitCode : ExitCode.FAILURE
      // A refused or failed plan changed nothing: an audit is owed once the removal started.
      if (!apply || (!report.mongo_cleanup && !report.mongo_updates && !report.undo)) throw error
      const auditPath = await this.writeReport(config, report)
      throw new DrcError(`${report.error} (audit report: ${auditPath})`, {
        cause: error,
        exitCode: report.exit_code,
        suggestions: error instanceof DrcError ? error.suggestions : undefined,
      })
    } finally {
      await client.close()
    }

    const reportPath = await this.writeReport(config, report)
    if (!quiet) this.print(report, reportPath)
    for (const w of report.warnings) this.warn(w)
    process.exitCode = report.exit_code
    return {...report, report_path: reportPath}
  }

  /** Confirm, re-check, then remove (guards, undo journal, whole documents saved): src/mongo/cleanup.ts. */
  private async applyChange(
    ctx: MongoChangeContext,
    report: MongoChangeReport,
    ask: ((q: string) => Promise<boolean>) | null,
  ): Promise<void> {
    if (!this.jsonEnabled()) this.print({...report, apply: false}, null)
    const updates = report.planned_updates ?? []
    const question =
      updates.length === 0
        ? `Remove ${report.planned.length} MongoDB documents (saved for drc mongo restore)?`
        : `${report.planned.length > 0 ? `Remove ${report.planned.length} and change` : 'Change'} ${updates.length} MongoDB documents (each saved first, for undo)?`
    if (ask && !(await ask(question)))
      throw new DrcError(`cancelled: nothing was ${updates.length === 0 ? 'removed' : 'changed'}`, {
        exitCode: ExitCode.CANCELLED,
      })
    const stay = await this.recheck(ctx, report.planned)
    const kept: KeptRecord[] = report.planned
      .filter((r) => stay.has(`${r.collection}/${r.id}`))
      .map((r) => ({collection: r.collection, id: r.id, reason: stay.get(`${r.collection}/${r.id}`)!}))
    const eligible = report.planned.filter((r) => !stay.has(`${r.collection}/${r.id}`))
    const result: MongoCleanupResult = {database: report.database, journal: null, kept, removed: []}
    if (report.planned.length > 0) report.mongo_cleanup = result
    const [{cleanupRecords}, {undoJournalPath}] = await Promise.all([
      import('../mongo/cleanup.js'),
      import('../reports/store.js'),
    ])
    const strategy = this.id ?? this.constructor.name
    const journalPath = undoJournalPath(ctx.config.analysis.output_dir, strategy, new Date(report.started_at))
    const abort = new AbortController()
    const onSignal = () => abort.abort()
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    try {
      if (report.planned.length > 0)
        await cleanupRecords({
          db: ctx.db,
          eligible: eligible.map(({collection, id}) => ({collection, id})),
          journalPath,
          result,
          signal: abort.signal,
          strategy: this.id ?? this.constructor.name,
        })
      if (updates.length > 0) {
        report.mongo_updates = {database: report.database, journal: null, kept: [], updated: []}
        await runUpdates({
          db: ctx.db,
          outputDir: ctx.config.analysis.output_dir,
          result: report.mongo_updates,
          signal: abort.signal,
          startedAt: report.started_at,
          strategy: this.id ?? this.constructor.name,
          updates,
        })
      }
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      report.counts = {kept: report.kept.length + result.kept.length, planned: report.planned.length, removed: 0}
      report.counts.removed = result.removed.length
    }

    if (abort.signal.aborted) throw new DrcError('cancelled by a signal', {exitCode: ExitCode.CANCELLED})
  }

  /** The question to ask before changing anything, or null (dry run, --force, confirmation off); refuses without a TTY. */
  private async confirmation(raw: ChangeFlags, config: DrcConfig): Promise<((q: string) => Promise<boolean>) | null> {
    if (!raw.apply) return null
    const {askYesNo, assertCanConfirm} = await import('./confirm.js')
    assertCanConfirm({
      force: Boolean(raw.force),
      requireConfirmation: config.security.require_confirmation,
      stdinIsTTY: Boolean(process.stdin.isTTY),
    })
    return !raw.force && config.security.require_confirmation ? askYesNo : null
  }

  private emptyReport(apply: boolean, database: string): MongoChangeReport {
    return {
      apply,
      counts: {kept: 0, planned: 0, removed: 0},
      database,
      error: null,
      exit_code: ExitCode.SUCCESS,
      finished_at: '',
      kept: [],
      mongo_cleanup: null,
      planned: [],
      started_at: new Date().toISOString(),
      status: 'planned',
      strategy: this.id ?? this.constructor.name,
      warnings: [],
    }
  }

  /** The plan, and with --apply the change (removals, then updates). */
  private async planAndApply(
    ctx: MongoChangeContext,
    report: MongoChangeReport,
    ask: ((q: string) => Promise<boolean>) | null,
  ): Promise<void> {
    const change = await this.planChange(ctx)
    report.planned = change.removals
    report.planned_updates = change.updates ?? []
    report.kept.push(...change.kept)
    report.warnings.push(...(change.warnings ?? []))
    if (report.apply && change.removals.length + report.planned_updates.length > 0)
      await this.applyChange(ctx, report, ask)
  }

  private print(report: MongoChangeReport, reportPath: null | string): void {
    const mc = report.mongo_cleanup
    this.log(
      `${report.apply ? 'Audit' : 'Plan (dry run: nothing was changed; --apply removes)'} of ${report.strategy} (database ${report.database})`,
    )
    if (!report.apply) for (const r of report.planned) this.log(`  remove ${r.collection} ${r.id}  (${r.reason})`)
    for (const r of mc?.removed ?? []) this.log(`  ✓ removed ${r.collection} ${r.id}`)
    for (const k of [...report.kept, ...(mc?.kept ?? [])]) this.log(`  - kept   ${k.collection} ${k.id}: ${k.reason}`)
    const removed = mc ? `, ${mc.removed.length} removed` : ''
    this.log(`${report.planned.length} planned, ${report.kept.length + (mc?.kept.length ?? 0)} kept${removed}`)
    for (const line of updateLines(report, reportPath)) this.log(line)
    if (mc && mc.removed.length > 0) this.log(`undo: drc mongo restore ${reportPath ?? mc.journal}`)
    else if (reportPath) this.log(`report: ${reportPath}`)
  }

  /** --undo <audit>: check (dry run) or put back the documents that run changed; refused ones make the exit 4. */
  private async undoChange(
    db: Db,
    report: MongoChangeReport,
    file: string,
    ask: ((q: string) => Promise<boolean>) | null,
  ): Promise<void> {
    const ctor = this.constructor as typeof Command
    const strategies = [this.id, ctor.id, ...(ctor.aliases ?? []), ...(ctor.hiddenAliases ?? [])].flatMap((s) =>
      s ? [s] : [],
    )
    const check = await runUndo({db, dryRun: true, file, strategies})
    report.undo = check
    if (report.apply && check.reverted.length > 0) {
      if (!this.jsonEnabled()) this.print({...report, apply: false}, null)
      if (ask && !(await ask(`Put back the saved version of ${check.reverted.length} MongoDB documents?`)))
        throw new DrcError('cancelled: nothing was changed', {exitCode: ExitCode.CANCELLED})
      report.undo = await runUndo({db, dryRun: false, file, strategies})
    }

    if (report.undo.refused.length > 0) report.exit_code = ExitCode.PARTIAL
  }

  private async writeReport(config: DrcConfig, report: MongoChangeReport): Promise<string> {
    report.finished_at = new Date().toISOString()
    if (report.mongo_cleanup) {
      report.counts.removed = report.mongo_cleanup.removed.length
      report.counts.kept = report.kept.length + report.mongo_cleanup.kept.length
    } else {
      report.counts.kept = report.kept.length
    }

    report.counts.planned = report.planned.length
    if (report.mongo_updates) {
      report.counts.kept += report.mongo_updates.kept.length
      report.counts.updated = report.mongo_updates.updated.length
    }

    const {fileSlug, writeReport} = await import('../reports/store.js')
    const slug = fileSlug(this.id ?? this.constructor.name)
    const written = await writeReport(config, `${slug}-${report.apply ? 'audit' : 'plan'}`, report)
    return written.path
  }
}
