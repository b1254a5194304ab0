/**
 * The deletion lifecycle (design.md "The deletion lifecycle"): plan → preflight → confirm → backup → unlock →
 * delete (re-check, digest guard, delete, verify) → re-lock (always) → audit report. Phases run as listr2 tasks
 * (silent under --json, rendered on stderr otherwise); the core owns their order and failure handling.
 */
import type {ListrTask} from 'listr2'
import type {Db} from 'mongodb'

import type {BlobGraph} from '../analysis/graph.js'
import type {DrcConfig, LoadedConfig} from '../config/types.js'
import type {HealthCheckName, HealthResult} from '../health/types.js'
import type {RegistryClient} from '../registry/client.js'
import type {UsageRules} from '../usage/types.js'
import type {FireHook} from './hooks.js'
import type {Candidate, DeletionPlan, ItemOutcome, PlanContext, PlanItem, SkippedItem} from './types.js'

import {DrcError, errorMessage, UsageError} from '../lib/errors.js'
import {ExitCode} from '../lib/exit-codes.js'
import {humanBytes} from '../reports/format.js'
import {itemKey} from './types.js'

export interface PipelineOptions {
  apply: boolean
  backup: boolean
  config: DrcConfig
  /** Asks the operator; false = declined. Undefined: no question (--force, or confirmation switched off). */
  confirm?: (question: string) => Promise<boolean>
  fireHook: FireHook
  loaded: LoadedConfig
  /** Notes for the operator on stderr (silent under --json). */
  log: (message: string) => void
  plan: (ctx: PlanContext) => Promise<Candidate[]>
  quiet: boolean
  /** Command id, e.g. `archived:delete`: names the reports. */
  strategy: string
  unusedSinceDays?: number
}

/** 'not needed': external registry or nothing to delete; the others describe the in-cluster unlock. */
export type LockState = 'never unlocked' | 'not needed' | 'RE-LOCK FAILED' | 'relocked'

export interface DeletionReport {
  analysis_report: null | string
  apply: boolean
  backed_up: string[]
  counts: {backed_up: number; deleted: number; failed: number; planned: number; skipped: number}
  deleted: ItemOutcome[]
  error: null | string
  exit_code: number
  failed: ItemOutcome[]
  finished_at: string
  lock: LockState
  planned: PlanItem[]
  /** What GC would free after every planned delete. */
  predicted_freed_bytes: number
  /** What GC would free after the deletes that happened (predicted from the plan's blob graph). */
  predicted_freed_bytes_deleted: number
  skipped: Array<ItemOutcome | SkippedItem>
  started_at: string
  strategy: string
  warnings: string[]
}

export interface PipelineResult {
  exitCode: number
  report: DeletionReport
  reportPath: null | string
}

async function runTasks(tasks: Array<ListrTask<object>>, quiet: boolean): Promise<void> {
  const {Listr, ListrLogger, ProcessOutput} = await import('listr2')
  // The renderer writes to stderr: stdout is for the result (and --json).
  const logger = new ListrLogger({processOutput: new ProcessOutput(process.stderr, process.stderr)})
  await new Listr(tasks, {
    exitOnError: true,
    fallbackRenderer: 'simple',
    fallbackRendererOptions: {logger},
    // withDeletionUnlocked owns SIGINT/SIGTERM while the registry is unlocked.
    registerSignalListeners: false,
    renderer: quiet ? 'silent' : 'default',
    rendererOptions: {logger},
  }).run()
}

export function planSummary(plan: DeletionPlan): string {
  const tags = plan.items.reduce((n, i) => n + i.tags.length, 0)
  const inUse = plan.items.filter((i) => i.inUseAtPlan).length
  const note = inUse > 0 ? ` (${inUse} in use now: the re-check will keep them)` : ''
  return `${plan.items.length} manifests (${tags} tags) to delete${note}, ${plan.skipped.length} candidates kept, predicted freed ${humanBytes(plan.predictedFreedBytes)}`
}

/**
 * Marks planned items that MongoDB says are in use right now, so a dry run does not promise deletes that the
 * re-check at --apply will refuse. One usage-graph build for the whole plan.
 */
async function annotateUsage(db: Db, plan: DeletionPlan, rules: UsageRules): Promise<void> {
  const [{buildUsageGraph}, {imageTypeOf}] = await Promise.all([
    import('../usage/build.js'),
    import('../usage/join.js'),
  ])
  const usage = await buildUsageGraph(db, {now: rules.now})
  for (const item of plan.items) {
    const type = imageTypeOf(item.repository)
    item.inUseAtPlan = null
    if (!type) continue
    for (const tag of item.tags) {
      const verdict = usage.evaluate(type, tag, rules)
      if (verdict.inUse) {
        item.inUseAtPlan = `${tag}: ${verdict.reasons.join('; ')}`
        break
      }
    }
  }
}

async function preflight(opts: PipelineOptions, plan: DeletionPlan): Promise<{inCluster: boolean}> {
  const {config} = opts
  if (opts.backup && !config.s3.bucket)
    throw new UsageError('--backup needs an S3 bucket, and none is configured', [
      'set s3.bucket (or S3_BUCKET), and s3.endpoint for an S3-compatible store',
    ])
  const [{createKubeClients}, {detectRegistryLocation}, {failedRequired, runHealthChecks}] = await Promise.all([
    import('../kube/client.js'),
    import('../kube/registry-location.js'),
    import('../health/run.js'),
  ])
  const location = await detectRegistryLocation(config, () => createKubeClients(config))
  opts.log(`registry ${location.inCluster ? 'in the cluster' : 'external'}: ${location.reason}`)
  const only: HealthCheckName[] = ['registry', 'mongodb']
  if (opts.backup) only.push('s3')
  if (location.inCluster) only.push('kubernetes', 'registry_rbac')
  const checks: HealthResult[] = await runHealthChecks(opts.loaded, {only})
  const bad = failedRequired(checks)
  if (bad.length > 0)
    throw new DrcError(`preflight refused: ${bad.map((c) => `${c.name}: ${c.message}`).join('; ')}`, {
      exitCode: ExitCode.PREFLIGHT_REFUSED,
      suggestions: [...bad.flatMap((c) => c.suggestions), 'nothing was changed; `drc health` shows every check'],
    })
  const vetoes = await opts.fireHook('drc:preflight', {checks, plan, strategy: opts.strategy})
  if (vetoes.length > 0)
    throw new DrcError(`preflight vetoed by a plugin hook: ${vetoes.join('; ')}`, {
      exitCode: ExitCode.PREFLIGHT_REFUSED,
      suggestions: ['nothing was changed; see the plugin that registered the drc:preflight hook'],
    })
  return {inCluster: location.inCluster}
}

/**
 * Runs the lifecycle. A dry run (no --apply) plans, writes the plan report and changes nothing. An --apply run
 * writes the audit report on every path, also when it fails (then the error is rethrown after the report).
 */
export async function runDeletionPipeline(opts: PipelineOptions): Promise<PipelineResult> {
  const {config} = opts
  const started = new Date()
  const warnings: string[] = []
  const hook: FireHook = async (event, payload) => {
    const failures = await opts.fireHook(event, payload)
    if (event !== 'drc:preflight') for (const f of failures) warnings.push(`${event} hook failed: ${f}`)
    return failures
  }

  let plan: DeletionPlan = {candidates: 0, items: [], predictedFreedBytes: 0, skipped: []}
  let analysisPath: null | string = null
  let planGraph: BlobGraph | undefined
  const outcomes: ItemOutcome[] = []
  const backups = {failed: new Map<string, string>(), verified: new Set<string>()}
  let lock: LockState = 'not needed'
  let failure: unknown
  // The dry run's plan report and the --apply run's audit report are the same document at different moments.
  const saveReport = async (kind: 'audit' | 'plan') => {
    const report = buildReport(opts, {
      analysisPath,
      backups,
      failure,
      graph: planGraph,
      lock,
      outcomes,
      plan,
      started,
      warnings,
    })
    const {writeReport} = await import('../reports/store.js')
    const written = await writeReport(config, `${slug(opts.strategy)}-${kind}`, report)
    return {path: written.path, report}
  }

  const [{connectMongo}, {lazySecretReader}] = await Promise.all([
    import('../services/mongo.js'),
    import('../kube/client.js'),
  ])
  let mongo: Awaited<ReturnType<typeof connectMongo>> | undefined
  let registry: RegistryClient | undefined
  let cancelled = false
  try {
    // Inside the try: an --apply run that cannot even reach MongoDB still writes its audit report.
    mongo = await connectMongo(config, {readSecret: lazySecretReader(config)})
    const {db} = mongo
    let inCluster = false
    await runTasks(
      [
        {
          async task(_ctx, task) {
            const candidates = await opts.plan({config, db, log: opts.log})
            task.title = `Planning: ${candidates.length} candidate tags; scanning the registry`
            const {obtainAnalysisGraph} = await import('../usage/join.js')
            // Never plan from a stale report: a deletion always scans the registry again.
            const {analysis, graph} = await obtainAnalysisGraph(config, {generate: true, maxAgeHours: 0, quiet: true})
            analysisPath = analysis.path
            const {buildDeletionPlan} = await import('./digest-plan.js')
            plan = buildDeletionPlan(graph, candidates)
            planGraph = graph
            await annotateUsage(db, plan, {
              gracePeriodDays: config.usage.grace_period_days,
              now: new Date(),
              unusedSinceDays: opts.unusedSinceDays,
            })
            task.title = `Plan: ${planSummary(plan)}`
            await hook('drc:plan', {plan, strategy: opts.strategy})
          },
          title: 'Planning',
        },
        {
          enabled: () => opts.apply,
          async task(_ctx, task) {
            inCluster = (await preflight(opts, plan)).inCluster
            task.title = 'Preflight: healthy'
          },
          title: 'Preflight',
        },
      ],
      opts.quiet,
    )
    if (!opts.apply) {
      const {path, report} = await saveReport('plan')
      return {exitCode: ExitCode.SUCCESS, report, reportPath: path}
    }

    if (opts.confirm && plan.items.length > 0) {
      // The operator sees what they are agreeing to, not only the totals.
      for (const i of plan.items) opts.log(`  delete ${i.repository}@${i.digest} ${i.tags.join(', ')}`)
      for (const k of plan.skipped) opts.log(`  keep   ${k.repository}:${k.tag ?? k.digest}: ${k.reason}`)
      const yes = await opts.confirm(`Delete ${planSummary(plan)} from ${config.registry.url}?`)
      if (!yes) {
        cancelled = true
        throw new DrcError('cancelled: nothing was deleted', {exitCode: ExitCode.CANCELLED})
      }
    }

    const {openRegistryClient} = await import('../registry/open.js')
    registry = await openRegistryClient(config)
    const reg = registry
    await runTasks(
      [
        {
          enabled: () => opts.backup && plan.items.length > 0,
          async task(_ctx, task) {
            const [{openBackupSession}, {backupItems}] = await Promise.all([
              import('../backup/session.js'),
              import('./execute.js'),
            ])
            const session = await openBackupSession(config)
            try {
              const done = await backupItems(plan.items, session.registry, session.store, (item, problem) => {
                task.output = `${problem ? '✗' : '✓'} ${item.repository}:${item.tags.join(',')}${problem ? ` ${problem}` : ''}`
              })
              for (const [k, v] of done.failed) backups.failed.set(k, v)
              for (const k of done.verified) backups.verified.add(k)
            } finally {
              await session.close()
            }

            task.title = `Backup: ${backups.verified.size} verified, ${backups.failed.size} failed`
            await hook('drc:backup', {
              failed: [...backups.failed].map(([key, reason]) => ({key, reason})),
              strategy: opts.strategy,
              verified: [...backups.verified],
            })
          },
          title: 'Backing up to S3',
        },
        {
          async task(_ctx, task) {
            await hook('drc:predelete', {plan, strategy: opts.strategy})
            const [{deleteItems}, {isInUse}] = await Promise.all([import('./execute.js'), import('../usage/live.js')])
            const rules = {
              gracePeriodDays: config.usage.grace_period_days,
              now: new Date(),
              unusedSinceDays: opts.unusedSinceDays,
            }
            let signalled: number | undefined
            const deletable = plan.items.some((i) => !backups.failed.has(itemKey(i)))
            const run = async (signal?: AbortSignal) =>
              deleteItems(plan.items, {
                db,
                isInUse,
                notAllowed: backups.failed,
                onItem(o) {
                  // Recorded as they happen: if re-locking fails after the deletes, the audit still lists them.
                  outcomes.push(o)
                  task.output = `${o.status} ${o.repository}@${o.digest}${o.reason ? `: ${o.reason}` : ''}`
                },
                plannedTags: tagsAtPlanTime(planGraph),
                registry: reg,
                rules,
                signal,
              })
            try {
              if (inCluster && deletable) {
                const {withDeletionUnlocked} = await import('../kube/registry-lock.js')
                lock = 'never unlocked'
                await withDeletionUnlocked(
                  config,
                  async ({signal}) => {
                    lock = 'relocked'
                    return run(signal)
                  },
                  {
                    // On SIGINT/SIGTERM the registry is re-locked first; instead of exiting there, the run goes
                    // on to skip what is left and write the audit report, then ends with the signal's exit code.
                    exit(code) {
                      signalled = code
                    },
                    log: opts.log,
                  },
                )
                if (signalled !== undefined) throw cancelledBySignal(signalled)
              } else {
                await run()
              }
            } catch (error) {
              const {RelockError} = await import('../kube/registry-lock.js')
              // Exit code 1 from the signal path means its re-lock failed (it reported that on stderr).
              if (error instanceof RelockError || signalled === ExitCode.FAILURE) lock = 'RE-LOCK FAILED'
              if (signalled !== undefined && !(error instanceof DrcError && error.name === 'CancelledBySignal'))
                throw cancelledBySignal(signalled, error)
              throw error
            }

            const count = (s: string) => outcomes.filter((o) => o.status === s).length
            task.title = `Delete: ${count('deleted')} deleted, ${count('skipped')} skipped, ${count('failed')} failed`
            await hook('drc:postdelete', {outcomes, strategy: opts.strategy})
          },
          title: 'Deleting',
        },
      ],
      opts.quiet,
    )
  } catch (error) {
    failure = error
  } finally {
    await registry?.close().catch(() => {})
    await mongo?.client.close().catch(() => {})
  }

  // Only --apply runs get here (a dry run returned above or failed before changing anything).
  if (!opts.apply) throw failure
  const {path: auditPath, report} = await saveReport('audit')
  opts.log(`audit report: ${auditPath}`)
  await hook('drc:audit', {apply: true, report, strategy: opts.strategy})
  if (failure) {
    if (failure instanceof DrcError && !cancelled)
      throw new DrcError(`${failure.message} (audit report: ${auditPath})`, {
        cause: failure,
        exitCode: failure.exitCode,
        suggestions: failure.suggestions,
      })
    throw failure
  }

  return {exitCode: report.exit_code, report, reportPath: auditPath}
}

interface RunState {
  analysisPath: null | string
  backups: {failed: Map<string, string>; verified: Set<string>}
  failure: unknown
  graph?: BlobGraph
  lock: LockState
  outcomes: ItemOutcome[]
  plan: DeletionPlan
  started: Date
  warnings: string[]
}

const withStatus = (outcomes: ItemOutcome[], s: ItemOutcome['status']) => outcomes.filter((o) => o.status === s)

/** The plan (dry run) or audit (--apply) report: exit code 1/3/... from a failure, 4 when an item failed. */
function buildReport(opts: Pick<PipelineOptions, 'apply' | 'strategy'>, st: RunState): DeletionReport {
  const {failure, outcomes, plan} = st
  const failed = withStatus(outcomes, 'failed')
  const exitCode = failure
    ? failure instanceof DrcError
      ? failure.exitCode
      : ExitCode.FAILURE
    : failed.length > 0
      ? ExitCode.PARTIAL
      : ExitCode.SUCCESS
  const skipped = [...plan.skipped, ...withStatus(outcomes, 'skipped')]
  const deleted = withStatus(outcomes, 'deleted')
  return {
    analysis_report: st.analysisPath,
    apply: opts.apply,
    backed_up: [...st.backups.verified],
    counts: {
      backed_up: st.backups.verified.size,
      deleted: deleted.length,
      failed: failed.length,
      planned: plan.items.length,
      skipped: skipped.length,
    },
    deleted,
    error: failure ? errorMessage(failure) : null,
    exit_code: exitCode,
    failed,
    finished_at: new Date().toISOString(),
    lock: st.lock,
    planned: plan.items,
    predicted_freed_bytes: plan.predictedFreedBytes,
    predicted_freed_bytes_deleted:
      st.graph && deleted.length > 0
        ? st.graph.freedBytes(deleted.map((d) => ({digest: d.digest, repository: d.repository}))).bytes
        : 0,
    skipped,
    started_at: st.started.toISOString(),
    strategy: opts.strategy,
    warnings: st.warnings,
  }
}

function cancelledBySignal(code: number, cause?: unknown): DrcError {
  const error = new DrcError(
    `cancelled by a signal; the registry was ${code === ExitCode.FAILURE ? 'NOT re-locked (see above)' : 're-locked'}${cause ? ` (${errorMessage(cause)})` : ''}`,
    {cause, exitCode: code === ExitCode.FAILURE ? ExitCode.FAILURE : ExitCode.CANCELLED},
  )
  error.name = 'CancelledBySignal'
  return error
}

const slug = (id: string): string => id.replaceAll(/[^a-z0-9]+/gi, '-').toLowerCase()

/** Every repository's tags as the plan's scan saw them (see DeleteDeps.plannedTags). */
function tagsAtPlanTime(graph: BlobGraph | undefined): Map<string, Set<string>> | undefined {
  if (!graph) return undefined
  const out = new Map<string, Set<string>>()
  for (const rev of graph.listRevisions()) {
    const set = out.get(rev.repository) ?? new Set<string>()
    for (const tag of rev.tags) set.add(tag)
    out.set(rev.repository, set)
  }

  return out
}
