/**
 * The deletion lifecycle (design.md "The deletion lifecycle"), as the list of its phases: each is a module under
 * ./phases over one typed run state (./run-state.ts) and fires its drc:* hook event (./hooks.ts). The core owns
 * order and failure handling; phases run as listr2 tasks (silent under --json, rendered on stderr otherwise).
 */
import type {ListrTask} from 'listr2'

import type {Phase, PipelineOptions, RunState} from './run-state.js'

import {DrcError, errorMessage} from '../lib/errors.js'
import {type DeletionReport, writeRunReport} from './phases/audit.js'
import {backupPhase} from './phases/backup.js'
import {confirmPhase} from './phases/confirm.js'
import {deletePhase} from './phases/delete.js'
import {gcPhase} from './phases/gc.js'
import {mongoCleanupPhase} from './phases/mongo-cleanup.js'
import {mongoUpdatePhase} from './phases/mongo-update.js'
import {planPhase} from './phases/plan.js'
import {preflightPhase} from './phases/preflight.js'
import {relockPhase} from './phases/relock.js'
import {newRunState} from './run-state.js'
import {cancelOnSignals, raceCancel} from './signals.js'

export type {DeletionReport, RunStatus} from './phases/audit.js'
export {planSummary} from './phases/plan.js'
export type {LockState, PhaseName, PipelineOptions} from './run-state.js'

/** The lifecycle, in order; the audit report (phases/audit.ts) follows on every path of an --apply run. */
export const PHASES: readonly Phase[] = [
  planPhase,
  preflightPhase,
  confirmPhase,
  backupPhase,
  deletePhase,
  relockPhase,
  // Registry first, MongoDB second (invariant 6): only records of images whose delete succeeded.
  mongoCleanupPhase,
  // After the clean-up: a document it removed is not changed (kept, "no longer in MongoDB").
  mongoUpdatePhase,
  // Last: GC needs the registry re-locked and only the records of what is gone cleaned.
  gcPhase,
]

export interface PipelineResult {
  exitCode: number
  report: DeletionReport
  reportPath: null | string
}

async function runTask(st: RunState, phase: Phase): Promise<void> {
  const work = async (task: {output: string; title: string}) =>
    phase.cancellation === 'race' ? raceCancel(st, () => phase.run(st, task)) : phase.run(st, task)
  if (phase.interactive) {
    await work({output: '', title: phase.title})
    return
  }

  const {Listr, ListrLogger, ProcessOutput} = await import('listr2')
  // The renderer writes to stderr: stdout is for the result (and --json).
  const logger = new ListrLogger({processOutput: new ProcessOutput(process.stderr, process.stderr)})
  const tasks: Array<ListrTask<object>> = [{task: (_ctx, task) => work(task), title: phase.title}]
  await new Listr(tasks, {
    exitOnError: true,
    fallbackRenderer: 'simple',
    fallbackRendererOptions: {logger},
    // The pipeline (src/lifecycle/signals.ts) and withDeletionUnlocked own SIGINT/SIGTERM.
    registerSignalListeners: false,
    renderer: st.opts.quiet ? 'silent' : 'default',
    rendererOptions: {logger},
  }).run()
}

/** opts.onReport (metrics, --html); on a failed run its own error is only logged: the run's failure is rethrown. */
async function afterReport(st: RunState, report: DeletionReport, path: string): Promise<void> {
  try {
    await st.opts.onReport?.(report, path)
  } catch (error) {
    if (!st.failure) throw error
    st.opts.log(`WARNING: ${errorMessage(error)}`)
  }
}

/**
 * Runs the lifecycle. A dry run (no --apply) plans, writes the plan report and changes nothing. An --apply run
 * writes the audit report on every path, also when it fails or is cancelled (then the error is rethrown after
 * the report).
 */
export async function runDeletionPipeline(opts: PipelineOptions): Promise<PipelineResult> {
  const st = newRunState(opts)
  const stopSignals = opts.apply ? cancelOnSignals(st) : () => {}
  const [{connectMongo}, {lazySecretReader}] = await Promise.all([
    import('../services/mongo.js'),
    import('../kube/client.js'),
  ])
  let mongo: Awaited<ReturnType<typeof connectMongo>> | undefined
  try {
    try {
      // Inside the try: an --apply run that cannot even reach MongoDB still writes its audit report.
      mongo = await raceCancel(st, () => connectMongo(opts.config, {readSecret: lazySecretReader(opts.config)}))
      st.db = mongo.db
      for (const phase of PHASES) {
        if (phase.enabled && !phase.enabled(st)) continue
        st.phase = phase.name
        // eslint-disable-next-line no-await-in-loop -- phases run in order
        await runTask(st, phase)
      }
    } catch (error) {
      st.failure = st.cancel.signal.aborted ? st.cancel.signal.reason : error
      // The re-lock outcome is reported even when the deletes failed.
      if (st.phase === 'delete') await relockPhase.run(st, {output: '', title: ''}).catch(() => {})
    } finally {
      await st.registry?.close().catch(() => {})
      await mongo?.client.close().catch(() => {})
    }

    if (!opts.apply) {
      if (st.failure) throw st.failure
      const {path, report} = await writeRunReport(st)
      await afterReport(st, report, path)
      // 0 for a plan; with --backup (backup-only) 4 or 1 when backups failed.
      return {exitCode: report.exit_code, report, reportPath: path}
    }

    const {path: auditPath, report} = await writeRunReport(st)
    await afterReport(st, report, auditPath)
    const {failure} = st
    if (failure) {
      if (failure instanceof DrcError && !st.declined)
        throw new DrcError(`${failure.message} (audit report: ${auditPath})`, {
          cause: failure,
          exitCode: failure.exitCode,
          suggestions: failure.suggestions,
        })
      throw failure
    }

    return {exitCode: report.exit_code, report, reportPath: auditPath}
  } finally {
    stopSignals()
  }
}
