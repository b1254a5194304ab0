import {type Command, Flags} from '@oclif/core'

import type {FireHook} from './hooks.js'
import type {DeletionReport} from './pipeline.js'
import type {Candidate, PlanContext} from './types.js'

import {BaseCommand} from '../lib/base-command.js'
import {errorMessage, UsageError} from '../lib/errors.js'
import {metricsFlags, metricsTargets, recordRunMetrics} from '../metrics/flags.js'
import {humanBytes} from '../reports/format.js'

export interface DeletionFlags {
  'allow-empty-repository': boolean
  apply: boolean
  backup: boolean
  'dry-run': boolean
  force: boolean
  html?: string
  'max-delete'?: number
  'metrics-file'?: string
  'mongo-cleanup': boolean
  'operation-id'?: string
  output?: string
  pushgateway?: string
  resume: boolean
  'run-registry-gc': boolean
  'unused-since-days'?: number
}

export interface DeletionResult extends DeletionReport {
  report_path: null | string
}

/** Backup-only (--backup without --apply): what was backed up and verified, and what failed. */
function backupOnlyLines(report: DeletionReport): string[] {
  return [
    ...report.backed_up.map((k) => `  ✓ backed up and verified ${k}`),
    ...report.backup_failed.map((f) => `  ✗ backup failed ${f.key}: ${f.reason}`),
  ]
}

/**
 * Base of every deletion strategy: a subclass implements only plan(); the core runs the lifecycle
 * (src/lifecycle/pipeline.ts): dry run unless --apply, preflight, confirmation, backup, unlock, per-item
 * re-check + digest guard + delete + verify, re-lock, audit report.
 */
export abstract class DeletionCommand<T extends typeof Command> extends BaseCommand<T> {
  /**
   * False in a whole-environment strategy (unused environments): an environment's active revision is then kept
   * only by what uses it, not by being active (design.md "Usage rules decided"). Plan and re-check alike.
   */
  static activeRevisionKeeps = true
  static baseFlags = {
    ...BaseCommand.baseFlags,
    'allow-empty-repository': Flags.boolean({
      description: 'Allow a plan that deletes every tag of a repository (refused otherwise, exit 2).',
      helpGroup: 'DELETION',
    }),
    apply: Flags.boolean({
      description:
        'Delete for real (default: dry run, which prints the plan and changes nothing; security.dry_run_by_default: false makes --apply the default).',
      helpGroup: 'DELETION',
    }),
    backup: Flags.boolean({
      description:
        'Back every image up to S3 and verify the backup before deleting it; a failed backup skips it. Without --apply: back the plan up and delete nothing.',
      helpGroup: 'DELETION',
    }),
    'dry-run': Flags.boolean({
      description: 'Only plan, whatever security.dry_run_by_default says.',
      helpGroup: 'DELETION',
    }),
    force: Flags.boolean({
      description: 'With --apply: do not ask for confirmation (needed without a terminal).',
      helpGroup: 'DELETION',
    }),
    html: Flags.string({
      description: 'Also write the plan or audit report as a self-contained HTML page to this file.',
      helpGroup: 'DELETION',
    }),
    'max-delete': Flags.integer({
      description:
        'Refuse (exit 2, nothing changed) a plan of more manifests than this (default security.max_delete, 1000).',
      helpGroup: 'DELETION',
      min: 0,
    }),
    ...metricsFlags,
    'mongo-cleanup': Flags.boolean({
      description:
        'After the deletes, remove the MongoDB records of the deleted images (guarded; each saved whole in the audit report: drc mongo restore undoes it).',
      helpGroup: 'DELETION',
    }),
    'operation-id': Flags.string({
      description: 'With --resume: the journal to continue (its plan id) when several interrupted runs left one.',
      helpGroup: 'DELETION',
    }),
    output: Flags.string({
      description:
        'Also write the plan (dry run) or audit (--apply) report to exactly this path (the report store keeps its copy).',
      helpGroup: 'DELETION',
    }),
    resume: Flags.boolean({
      description:
        'Continue the interrupted run of the same plan from its journal (<output_dir>/checkpoints/<plan id>.jsonl): nothing is deleted twice.',
      helpGroup: 'DELETION',
    }),
    'run-registry-gc': Flags.boolean({
      description:
        'With --apply, after the deletes: garbage-collect the in-cluster registry (read-only meanwhile) so the space comes back; as `drc registry gc`.',
      helpGroup: 'DELETION',
    }),
    'unused-since-days': Flags.integer({
      description: 'Run and workspace usage older than this many days no longer keeps an image.',
      helpGroup: 'DELETION',
      min: 0,
    }),
  }

  /** True when keeping this item (in use, protected, shared digest) means the run did not do what was asked: exit 4. */
  keptIsPartial(_kept: {repository: string; tags: string[]}): boolean {
    return false
  }

  /** The candidates of this strategy, each with its evidence. Read-only: it must not change anything. */
  abstract plan(ctx: PlanContext): Promise<Candidate[]>

  async run(): Promise<DeletionResult> {
    // oclif leaves an absent boolean flag undefined: make the report say false.
    const raw = this.flags as unknown as Partial<DeletionFlags>
    const flags: DeletionFlags = {
      'allow-empty-repository': Boolean(raw['allow-empty-repository']),
      apply: Boolean(raw.apply),
      backup: Boolean(raw.backup),
      'dry-run': Boolean(raw['dry-run']),
      force: Boolean(raw.force),
      html: raw.html,
      'max-delete': raw['max-delete'],
      'metrics-file': raw['metrics-file'],
      'mongo-cleanup': Boolean(raw['mongo-cleanup']),
      'operation-id': raw['operation-id'],
      output: raw.output,
      pushgateway: raw.pushgateway,
      resume: Boolean(raw.resume),
      'run-registry-gc': Boolean(raw['run-registry-gc']),
      'unused-since-days': raw['unused-since-days'],
    }
    if (flags.apply && flags['dry-run']) throw new UsageError('--apply and --dry-run contradict each other: pick one')
    // A bad --pushgateway fails (exit 2) before any work, not after a long run.
    metricsTargets(flags)
    const config = await this.loadDrcConfig()
    // security.dry_run_by_default: false makes a run without --apply apply (confirmation rules unchanged); --dry-run
    // still only plans, and --backup without --apply stays the predecessor's backup-only mode (deletes nothing).
    if (!flags.apply && !flags['dry-run'] && !flags.backup && !config.security.dry_run_by_default) {
      flags.apply = true
      if (!this.jsonEnabled()) this.logToStderr('security.dry_run_by_default is false: applying (--dry-run only plans)')
    }

    // --backup --force is the predecessor's backup-only spelling: accepted (backup-only asks nothing).
    if (flags.force && !flags.apply && !flags.backup)
      throw new UsageError('--force only makes sense with --apply (or --backup)')
    const loaded = await this.loadConfigRaw()
    const [{askYesNo, assertCanConfirm}, {runDeletionPipeline}] = await Promise.all([
      import('./confirm.js'),
      import('./pipeline.js'),
    ])
    const askFirst = flags.apply && !flags.force && config.security.require_confirmation
    if (flags.apply)
      assertCanConfirm({
        force: flags.force,
        requireConfirmation: config.security.require_confirmation,
        stdinIsTTY: Boolean(process.stdin.isTTY),
      })
    const quiet = this.jsonEnabled()
    const fireHook: FireHook = async (event, payload) => {
      const result = await this.config.runHook(event, payload, undefined, true)
      return result.failures.map((f) => `${f.plugin.name}: ${errorMessage(f.error)}`)
    }

    const {exitCode, report, reportPath} = await runDeletionPipeline({
      allowEmptyRepository: flags['allow-empty-repository'],
      apply: flags.apply,
      backup: flags.backup,
      config,
      confirm: askFirst ? askYesNo : undefined,
      fireHook,
      keptIsPartial: (kept) => this.keptIsPartial(kept),
      loaded,
      log: (m) => {
        if (!quiet) this.logToStderr(m)
      },
      maxDelete: flags['max-delete'],
      mongoCleanup: flags['mongo-cleanup'],
      onReport: (r, path) => this.afterReport(flags, r, path),
      operationId: flags['operation-id'],
      output: flags.output,
      plan: (ctx) => this.plan(ctx),
      quiet,
      resume: flags.resume,
      runRegistryGc: flags['run-registry-gc'],
      strategy: this.id ?? this.constructor.name,
      unusedSinceDays: flags['unused-since-days'],
      ...((this.constructor as typeof DeletionCommand).activeRevisionKeeps ? {} : {activeRevisionKeeps: false}),
    })
    if (!quiet) this.print(report, reportPath)
    for (const w of report.warnings) this.warn(w)
    process.exitCode = exitCode
    return {...report, report_path: reportPath}
  }

  /** On every path that wrote a report (also a failed run): metrics and --html. */
  private async afterReport(flags: DeletionFlags, report: DeletionReport, reportPath: string): Promise<void> {
    const measuredFreedBytes = report.gc?.measured_freed_bytes ?? null
    await recordRunMetrics(report, flags, {measuredFreedBytes})
    if (!flags.html) return
    const {renderAuditHtml, writeHtmlFile} = await import('../html/index.js')
    const file = await writeHtmlFile(flags.html, renderAuditHtml(report, reportPath, {measuredFreedBytes}))
    if (!this.jsonEnabled()) this.logToStderr(`html report: ${file}`)
  }

  private print(report: DeletionReport, reportPath: null | string): void {
    const backedUp = report.apply ? [] : backupOnlyLines(report)
    const mode = report.apply
      ? 'Audit'
      : backedUp.length > 0
        ? 'Plan, backed up (backup only: nothing was deleted; --apply deletes)'
        : 'Plan (dry run: nothing was changed; --apply deletes)'
    this.log(`${mode} of ${report.strategy}`)
    for (const line of backedUp) this.log(line)

    if (!report.apply)
      for (const i of report.planned)
        this.log(
          `  delete ${i.repository}@${i.digest} ${i.tags.join(', ')}${i.evidence.length > 0 ? `  (${i.evidence.join('; ')})` : ''}`,
        )
    if (report.in_use.length > 0) this.log(`In use now (kept, not counted in the prediction):`)
    for (const i of report.in_use)
      this.log(`  - in use  ${i.repository}@${i.digest} ${i.tags.join(', ')}: ${i.inUseAtPlan}`)
    for (const o of report.deleted) this.log(`  ✓ deleted ${o.repository}@${o.digest} ${o.tags.join(', ')}`)
    for (const o of report.deleted_unverified)
      this.log(`  ? deleted, unverified ${o.repository}@${o.digest} ${o.tags.join(', ')}: ${o.reason}`)
    for (const o of report.failed) this.log(`  ✗ failed  ${o.repository}@${o.digest} ${o.tags.join(', ')}: ${o.reason}`)
    for (const s of report.skipped.filter((k) => !k.reason?.startsWith('in use at planning')))
      this.log(
        `  - kept    ${s.repository}${'tag' in s && s.tag ? `:${s.tag}` : ''}${'tags' in s ? ` ${s.tags.join(', ')}` : ''}: ${s.reason}`,
      )
    const c = report.counts
    this.log(
      `${c.planned} planned, ${c.in_use} in use now, ${c.skipped} kept, ${c.backed_up} backed up, ${c.deleted} deleted${c.deleted_unverified > 0 ? ` (+${c.deleted_unverified} unverified)` : ''}, ${c.failed} failed; predicted freed ${humanBytes(report.predicted_freed_bytes)}${report.apply ? ` (${humanBytes(report.predicted_freed_bytes_deleted)} by the deletes done)` : ''}`,
    )
    this.printMongoCleanup(report, reportPath)
    this.printMongoUpdates(report, reportPath)
    this.printGc(report)
    if (reportPath) this.log(`report: ${reportPath}`)
  }

  private printGc(report: DeletionReport): void {
    const {gc} = report
    if (!gc?.ran) return
    const measured = gc.measured_freed_bytes === null ? 'unmeasured' : humanBytes(gc.measured_freed_bytes)
    this.log(`Registry garbage collection: ${measured} freed (predicted ${humanBytes(gc.predicted_freed_bytes)})`)
  }

  private printMongoCleanup(report: DeletionReport, reportPath: null | string): void {
    const mc = report.mongo_cleanup
    if (!mc) return
    for (const k of mc.kept) this.log(`  - MongoDB kept    ${k.collection} ${k.id}: ${k.reason}`)
    const undo = mc.removed.length > 0 ? `; undo: drc mongo restore ${reportPath ?? mc.journal}` : ''
    this.log(`MongoDB: ${mc.removed.length} records removed, ${mc.kept.length} kept${undo}`)
  }

  private printMongoUpdates(report: DeletionReport, reportPath: null | string): void {
    const mu = report.mongo_updates
    if (!mu) return
    for (const u of mu.updated) this.log(`  ✓ MongoDB changed ${u.collection} ${u.id}: set ${JSON.stringify(u.set)}`)
    for (const k of mu.kept) this.log(`  - MongoDB left    ${k.collection} ${k.id}: ${k.reason}`)
    const undo = mu.updated.length > 0 ? `; undo: drc mongo restore ${reportPath ?? mu.journal}` : ''
    this.log(`MongoDB: ${mu.updated.length} documents changed, ${mu.kept.length} left as they were${undo}`)
  }
}
