import type {Db} from 'mongodb'

import type {BlobGraph} from '../analysis/graph.js'
import type {DrcConfig, LoadedConfig} from '../config/types.js'
import type {MongoCleanupResult} from '../mongo/types.js'
import type {MongoUpdateResult} from '../mongo/updates.js'
import type {RegistryClient} from '../registry/client.js'
import type {UsageRules} from '../usage/types.js'
import type {FireHook} from './hooks.js'
import type {Journal} from './journal.js'
import type {GcState} from './phases/gc.js'
import type {ResumeInfo} from './resume.js'
import type {Candidate, DeletionPlan, ItemOutcome, PlanContext} from './types.js'

export interface PipelineOptions {
  /** False for whole-environment strategies: the active revision mark alone keeps nothing (UsageRules). */
  activeRevisionKeeps?: boolean
  /** --allow-empty-repository: a plan may delete every tag of a repository. */
  allowEmptyRepository?: boolean
  apply: boolean
  backup: boolean
  config: DrcConfig
  /** Asks the operator; false = declined. Undefined: no question (--force, or confirmation switched off). */
  confirm?: (question: string) => Promise<boolean>
  fireHook: FireHook
  /** True when keeping this item leaves the run partial (exit 4), e.g. an image the operator named. */
  keptIsPartial?: (kept: {repository: string; tags: string[]}) => boolean
  loaded: LoadedConfig
  /** Notes for the operator on stderr (silent under --json). */
  log: (message: string) => void
  /** --max-delete: the largest plan accepted (else security.max_delete). */
  maxDelete?: number
  /** --mongo-cleanup: after the deletes, remove the records of deleted images (invariant 6, src/mongo/cleanup.ts). */
  mongoCleanup?: boolean
  /** Called with the written plan/audit report on every path that wrote one (metrics, --html); before a rethrow. */
  onReport?: (report: import('./phases/audit.js').DeletionReport, path: string) => Promise<void>
  /** --operation-id: the journal --resume continues (its plan id) when several exist. */
  operationId?: string
  /** --output: the plan or audit report is also written to exactly this path. */
  output?: string
  plan: (ctx: PlanContext) => Promise<Candidate[]>
  quiet: boolean
  /** --resume: continue the journal of an interrupted run of the same plan (src/lifecycle/resume.ts). */
  resume?: boolean
  /** --run-registry-gc: garbage-collect the in-cluster registry after the deletes (phases/gc.ts). */
  runRegistryGc?: boolean
  /** Command id, e.g. `archived:delete`: names the reports. */
  strategy: string
  unusedSinceDays?: number
}

/** 'not needed': external registry or nothing to delete; the others describe the in-cluster unlock. */
export type LockState = 'never unlocked' | 'not needed' | 'RE-LOCK FAILED' | 'relocked'

/** The phases in their order (design.md "The deletion lifecycle"); the audit report names the one reached. */
export type PhaseName =
  'audit' | 'backup' | 'confirm' | 'delete' | 'gc' | 'mongo-cleanup' | 'mongo-update' | 'plan' | 'preflight' | 'relock'

/** Everything the phases share: each phase reads what earlier phases left and adds its own part. */
export interface RunState {
  analysisPath: null | string
  backups: {failed: Map<string, string>; verified: Set<string>}
  /** Aborted by SIGINT/SIGTERM during an --apply run (outside the unlocked window, which handles its own). */
  cancel: AbortController
  /** The strategy's candidates (their `mongo` records drive the clean-up). */
  candidates: Candidate[]
  db?: Db
  /** The operator declined at the confirmation. */
  declined: boolean
  failure: unknown
  /** --run-registry-gc: what the GC phase did; null when it did not run. */
  gc: GcState | null
  graph?: BlobGraph
  /** Fires a lifecycle hook event; failures become warnings (except at drc:preflight, a veto). */
  hook: FireHook
  inCluster: boolean
  /** The deletion journal of this --apply run (invariant 9), rewritten after every item. */
  journal?: {file: string; journal: Journal}
  lock: LockState
  /** True while withDeletionUnlocked owns SIGINT/SIGTERM (it re-locks first, then reports back). */
  lockOwnsSignals: boolean
  /** What --mongo-cleanup removed (saved whole) and kept; null when it did not run. */
  mongoCleanup: MongoCleanupResult | null
  /** What the candidates' mongoUpdates changed (each saved whole) and kept; null when none was asked for. */
  mongoUpdates: MongoUpdateResult | null
  readonly opts: PipelineOptions
  outcomes: ItemOutcome[]
  /** The last phase that started. */
  phase: PhaseName
  plan: DeletionPlan
  registry?: RegistryClient
  /** --resume: what the interrupted run already deleted (never deleted again). */
  resume: null | ResumeInfo
  readonly started: Date
  warnings: string[]
}

export function newRunState(opts: PipelineOptions): RunState {
  const warnings: string[] = []
  return {
    analysisPath: null,
    backups: {failed: new Map(), verified: new Set()},
    cancel: new AbortController(),
    candidates: [],
    declined: false,
    failure: undefined,
    gc: null,
    async hook(event, payload) {
      const failures = await opts.fireHook(event, payload)
      if (event !== 'drc:preflight') for (const f of failures) warnings.push(`${event} hook failed: ${f}`)
      return failures
    },
    inCluster: false,
    lock: 'not needed',
    lockOwnsSignals: false,
    mongoCleanup: null,
    mongoUpdates: null,
    opts,
    outcomes: [],
    phase: 'plan',
    plan: {candidates: 0, inUse: [], items: [], predictedFreedBytes: 0, skipped: []},
    resume: null,
    started: new Date(),
    warnings,
  }
}

/** The usage rules of this run, evaluated at `now` (the plan and each re-check use their own moment). */
export const usageRules = (st: RunState, now = new Date()): UsageRules => ({
  gracePeriodDays: st.opts.config.usage.grace_period_days,
  now,
  unusedSinceDays: st.opts.unusedSinceDays,
  ...(st.opts.activeRevisionKeeps === false ? {activeRevisionKeeps: false} : {}),
})

/** What a phase may do to its listr task: a live title and one line of output. */
export interface PhaseTask {
  output: string
  title: string
}

export interface Phase {
  /**
   * 'race': on a signal the pipeline stops waiting for the phase (it only reads); 'cooperative': the phase
   * watches st.cancel itself (it changes things and must record what it did).
   */
  cancellation: 'cooperative' | 'race'
  /** Skipped when false (the pipeline records no start for it). */
  enabled?: (st: RunState) => boolean
  /** Talks to the terminal itself: runs outside the task renderer. */
  interactive?: boolean
  name: PhaseName
  run(st: RunState, task: PhaseTask): Promise<void>
  title: string
}
