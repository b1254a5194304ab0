import {type Command, Flags} from '@oclif/core'

import type {FireHook} from './hooks.js'
import type {DeletionReport} from './pipeline.js'
import type {Candidate, PlanContext} from './types.js'

import {BaseCommand} from '../lib/base-command.js'
import {errorMessage, UsageError} from '../lib/errors.js'
import {humanBytes} from '../reports/format.js'

export interface DeletionFlags {
  apply: boolean
  backup: boolean
  force: boolean
  'mongo-cleanup': boolean
  'unused-since-days'?: number
}

export interface DeletionResult extends DeletionReport {
  report_path: null | string
}

/**
 * Base of every deletion strategy: a subclass implements only plan(); the core runs the lifecycle
 * (src/lifecycle/pipeline.ts): dry run unless --apply, preflight, confirmation, backup, unlock, per-item
 * re-check + digest guard + delete + verify, re-lock, audit report.
 */
export abstract class DeletionCommand<T extends typeof Command> extends BaseCommand<T> {
  static baseFlags = {
    ...BaseCommand.baseFlags,
    apply: Flags.boolean({
      description: 'Delete for real (default: dry run, which prints the plan and changes nothing).',
      helpGroup: 'DELETION',
    }),
    backup: Flags.boolean({
      description: 'Back every image up to S3 and verify the backup before deleting it; a failed backup skips it.',
      helpGroup: 'DELETION',
    }),
    force: Flags.boolean({
      description: 'With --apply: do not ask for confirmation (needed without a terminal).',
      helpGroup: 'DELETION',
    }),
    'mongo-cleanup': Flags.boolean({
      description: 'Also remove the MongoDB records of deleted images (not supported yet: refused).',
      helpGroup: 'DELETION',
    }),
    'unused-since-days': Flags.integer({
      description: 'Run and workspace usage older than this many days no longer keeps an image.',
      helpGroup: 'DELETION',
      min: 0,
    }),
  }

  /** The candidates of this strategy, each with its evidence. Read-only: it must not change anything. */
  abstract plan(ctx: PlanContext): Promise<Candidate[]>

  async run(): Promise<DeletionResult> {
    // oclif leaves an absent boolean flag undefined: make the report say false.
    const raw = this.flags as unknown as Partial<DeletionFlags>
    const flags: DeletionFlags = {
      apply: Boolean(raw.apply),
      backup: Boolean(raw.backup),
      force: Boolean(raw.force),
      'mongo-cleanup': Boolean(raw['mongo-cleanup']),
      'unused-since-days': raw['unused-since-days'],
    }
    if (flags['mongo-cleanup'])
      throw new UsageError('--mongo-cleanup is not supported yet: nothing was done', [
        'run without --mongo-cleanup; the registry deletion does not need it',
      ])
    if (flags.force && !flags.apply) throw new UsageError('--force only makes sense with --apply')
    const config = await this.loadDrcConfig()
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
      apply: flags.apply,
      backup: flags.backup,
      config,
      confirm: askFirst ? askYesNo : undefined,
      fireHook,
      loaded,
      log: (m) => {
        if (!quiet) this.logToStderr(m)
      },
      plan: (ctx) => this.plan(ctx),
      quiet,
      strategy: this.id ?? this.constructor.name,
      unusedSinceDays: flags['unused-since-days'],
    })
    if (!quiet) this.print(report, reportPath)
    for (const w of report.warnings) this.warn(w)
    process.exitCode = exitCode
    return {...report, report_path: reportPath}
  }

  private print(report: DeletionReport, reportPath: null | string): void {
    const mode = report.apply ? 'Audit' : 'Plan (dry run: nothing was changed; --apply deletes)'
    this.log(`${mode} of ${report.strategy}`)
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
    if (reportPath) this.log(`report: ${reportPath}`)
  }
}
