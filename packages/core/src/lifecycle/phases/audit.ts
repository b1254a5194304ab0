import type {MongoCleanupResult} from '../../mongo/types.js'
import type {MongoUpdateResult} from '../../mongo/updates.js'
import type {ResumeInfo} from '../resume.js'
import type {LockState, Phase, PhaseName, RunState} from '../run-state.js'
import type {ItemOutcome, PlanItem, SkippedItem} from '../types.js'

import {DrcError, errorMessage} from '../../lib/errors.js'
import {ExitCode} from '../../lib/exit-codes.js'
import {perItemExitCode} from '../../lib/per-item.js'
import {gcReport, type GcReport, predictedDeletedBytes, warnWithoutGc} from './gc.js'

/** 'planned': a dry run; the others end an --apply run. */
export type RunStatus = 'cancelled' | 'completed' | 'failed' | 'planned'

export interface DeletionReport {
  analysis_report: null | string
  apply: boolean
  backed_up: string[]
  /** Backups that failed (`repository@digest` and why); with --apply that image was not deleted. */
  backup_failed: Array<{key: string; reason: string}>
  counts: {
    /** --resume: items the interrupted run had deleted (not deleted again by this one). */
    already_deleted: number
    backed_up: number
    deleted: number
    deleted_unverified: number
    failed: number
    in_use: number
    /** --mongo-cleanup: records kept (guards, image not deleted) and removed (saved whole in mongo_cleanup). */
    mongo_kept: number
    mongo_removed: number
    mongo_update_kept: number
    /** Documents changed as the strategy asked once their images were gone (mongo_updates), and kept unchanged. */
    mongo_updated: number
    planned: number
    skipped: number
  }
  deleted: ItemOutcome[]
  /** Accepted by the registry (202), but no HEAD could confirm the manifest is gone (see the reason). */
  deleted_unverified: ItemOutcome[]
  error: null | string
  exit_code: number
  failed: ItemOutcome[]
  finished_at: string
  /** --apply: whether registry garbage collection ran (--run-registry-gc) and what it freed; null for a dry run. */
  gc: GcReport | null
  /** Revisions a candidate named that were in use at planning: kept apart, never deleted in this run. */
  in_use: PlanItem[]
  lock: LockState
  /** --mongo-cleanup: every removed document whole (Extended JSON, for `drc mongo restore`), and what was kept. */
  mongo_cleanup: MongoCleanupResult | null
  /** Documents changed once their images were gone (e.g. --archive), each previous version whole: drc mongo restore. */
  mongo_updates: MongoUpdateResult | null
  /** The last phase that started (where a cancelled or failed run stopped). */
  phase: PhaseName
  /** The hash of the planned items (the journal's name: checkpoints/<plan_id>.jsonl; --operation-id picks it). */
  plan_id: null | string
  /** Revisions expected to go (in use ones are in `in_use`). */
  planned: PlanItem[]
  /** What GC would free after every planned delete (in-use revisions not counted). */
  predicted_freed_bytes: number
  /** What GC would free after the deletes that happened (predicted from the plan's blob graph). */
  predicted_freed_bytes_deleted: number
  /** --resume: the journal continued and what the interrupted run had deleted. */
  resume: null | ResumeInfo
  /** Everything kept, with the reason: by the plan (in-use ones included), and at the delete. */
  skipped: Array<ItemOutcome | SkippedItem>
  started_at: string
  status: RunStatus
  strategy: string
  warnings: string[]
}

const withStatus = (outcomes: ItemOutcome[], s: ItemOutcome['status']) => outcomes.filter((o) => o.status === s)

function statusOf(st: RunState): RunStatus {
  if (!st.opts.apply) return 'planned'
  if (st.declined || st.cancel.signal.aborted) return 'cancelled'
  if (st.failure instanceof DrcError && st.failure.exitCode === ExitCode.CANCELLED) return 'cancelled'
  return st.failure ? 'failed' : 'completed'
}

/** The plan (dry run) or audit (--apply) report: exit code 1/3/130 from a failure, else the per-item rule. */
export function buildReport(st: RunState): DeletionReport {
  const {failure, outcomes, plan} = st
  const failed = withStatus(outcomes, 'failed')
  const deleted = withStatus(outcomes, 'deleted')
  const unverified = withStatus(outcomes, 'deleted-unverified')
  const exitCode = failure
    ? failure instanceof DrcError
      ? failure.exitCode
      : ExitCode.FAILURE
    : st.opts.apply
      ? perItemExitCode({failed: failed.length, succeeded: deleted.length, uncertain: unverified.length})
      : // Backup-only (--backup without --apply): the items are the backups.
        perItemExitCode({failed: st.backups.failed.size, succeeded: st.backups.verified.size})
  const inUseKept: SkippedItem[] = plan.inUse.map((i) => ({
    digest: i.digest,
    reason: `in use at planning: ${i.inUseAtPlan}`,
    repository: i.repository,
    tag: i.tags.join(', '),
  }))
  const skipped = [...inUseKept, ...plan.skipped, ...withStatus(outcomes, 'skipped')]
  // A strategy may say a kept item leaves the run partial (drc image delete: an image named on the command line).
  const keptTags = (s: ItemOutcome | SkippedItem) => ('tags' in s ? s.tags : s.tag ? s.tag.split(', ') : [])
  const askedKept = skipped.some((s) => st.opts.keptIsPartial?.({repository: s.repository, tags: keptTags(s)}))
  return {
    analysis_report: st.analysisPath,
    apply: st.opts.apply,
    backed_up: [...st.backups.verified],
    backup_failed: [...st.backups.failed].map(([key, reason]) => ({key, reason})),
    counts: {
      already_deleted: st.resume?.already_deleted.length ?? 0,
      backed_up: st.backups.verified.size,
      deleted: deleted.length,
      deleted_unverified: unverified.length,
      failed: failed.length,
      in_use: plan.inUse.length,
      mongo_kept: st.mongoCleanup?.kept.length ?? 0,
      mongo_removed: st.mongoCleanup?.removed.length ?? 0,
      mongo_update_kept: st.mongoUpdates?.kept.length ?? 0,
      mongo_updated: st.mongoUpdates?.updated.length ?? 0,
      planned: plan.items.length,
      skipped: skipped.length,
    },
    deleted,
    deleted_unverified: unverified,
    error: failure ? errorMessage(failure) : null,
    exit_code: exitCode === ExitCode.SUCCESS && askedKept ? ExitCode.PARTIAL : exitCode,
    failed,
    finished_at: new Date().toISOString(),
    gc: gcReport(st),
    in_use: plan.inUse,
    lock: st.lock,
    mongo_cleanup: st.mongoCleanup,
    mongo_updates: st.mongoUpdates,
    phase: st.phase,
    plan_id: st.journal?.journal.plan_id ?? null,
    planned: plan.items,
    predicted_freed_bytes: plan.predictedFreedBytes,
    predicted_freed_bytes_deleted: predictedDeletedBytes(st),
    resume: st.resume,
    skipped,
    started_at: st.started.toISOString(),
    status: statusOf(st),
    strategy: st.opts.strategy,
    warnings: st.warnings,
  }
}

/**
 * Writes the dry run's plan report or the --apply run's audit report (the same document at different moments)
 * and, for an audit, fires drc:audit. Runs on every path of an --apply run (invariant 7).
 */
export async function writeRunReport(st: RunState): Promise<{path: string; report: DeletionReport}> {
  const kind = st.opts.apply ? 'audit' : 'plan'
  warnWithoutGc(st)
  const report = buildReport(st)
  const {fileSlug, writeReport} = await import('../../reports/store.js')
  const written = await writeReport(st.opts.config, `${fileSlug(st.opts.strategy)}-${kind}`, report)
  // --output (the predecessor's): the same document at exactly that path too; the store keeps the audit trail.
  if (st.opts.output)
    await writeReport(st.opts.config, `${fileSlug(st.opts.strategy)}-${kind}`, report, {output: st.opts.output})
  if (st.opts.apply) {
    st.opts.log(`audit report: ${written.path}`)
    await st.hook('drc:audit', {apply: true, report, strategy: st.opts.strategy})
  }

  return {path: written.path, report}
}

/** The audit phase: listed for completeness; the pipeline runs writeRunReport after the others, on every path. */
export const auditPhase: Pick<Phase, 'name' | 'title'> = {name: 'audit', title: 'Audit report'}
