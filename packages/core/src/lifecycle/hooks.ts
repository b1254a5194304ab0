import type {HealthResult} from '../health/types.js'
import type {RegistryGcResult} from '../kube/registry-gc.js'
import type {LockState} from './run-state.js'
import type {DeletionPlan, ItemOutcome} from './types.js'

/**
 * The custom oclif hook events of the deletion lifecycle and their payloads, one per phase, in the order they
 * fire. Other plugins register handlers for them in their package.json (`oclif.hooks`), e.g.
 * `"hooks": {"drc:preflight": "./dist/hooks/freeze.js"}`. The core owns order and failure handling: a failing
 * handler becomes a warning in the report, except at `drc:preflight`, where a thrown error vetoes the run
 * (exit code 3, nothing changed). Handlers must not change the payload.
 */
export interface LifecycleHookPayloads {
  /** After the audit report of an --apply run was written (every path, also failed or cancelled runs). */
  'drc:audit': {apply: boolean; report: unknown; strategy: string}
  /** After the backup phase (--backup): keys `repository@digest` verified, and the ones that failed. */
  'drc:backup': {failed: Array<{key: string; reason: string}>; strategy: string; verified: string[]}
  /** After the confirmation (--apply): true/false the operator's answer, null when nobody was asked (--force). */
  'drc:confirm': {confirmed: boolean | null; plan: DeletionPlan; strategy: string}
  /**
   * After --run-registry-gc (runs after the re-lock and the MongoDB clean-up, only when something was deleted and the
   * registry is in the cluster): the GC Job's result (measured_freed_bytes: blob bytes before minus after) and what
   * the plan's blob graph predicted the deletes done would free.
   */
  'drc:gc': {predicted_freed_bytes: number; result: RegistryGcResult; strategy: string}
  /**
   * After --mongo-cleanup (runs after the re-lock): the records removed (each saved whole in the audit report and
   * its undo journal, for `drc mongo restore`) and the ones kept, with the reason.
   */
  'drc:mongo-cleanup': {
    kept: Array<{collection: string; id: string; reason: string}>
    removed: Array<{collection: string; id: string}>
    strategy: string
  }
  /** After the MongoDB changes strategies asked for (e.g. --archive): each changed document and each one kept. */
  'drc:mongo-update': {
    kept: Array<{collection: string; id: string; reason: string}>
    strategy: string
    updated: Array<{collection: string; id: string}>
  }
  /** After planning (dry run and --apply): what is expected to go, what is in use now, what is kept. */
  'drc:plan': {plan: DeletionPlan; strategy: string}
  /** After the delete phase: one outcome per planned item (deleted, deleted-unverified, skipped, failed). */
  'drc:postdelete': {outcomes: ItemOutcome[]; strategy: string}
  /** Right before the delete phase starts (after backup). */
  'drc:predelete': {plan: DeletionPlan; strategy: string}
  /** After the health checks of an --apply run passed; a handler that throws vetoes the run (exit 3). */
  'drc:preflight': {checks: HealthResult[]; plan: DeletionPlan; strategy: string}
  /** After the deletes: the registry lock state the run leaves behind ('relocked', 'not needed', ...). */
  'drc:relock': {lock: LockState; strategy: string}
}

export type LifecycleHookEvent = keyof LifecycleHookPayloads

/** Fires one event; resolves with the message of every handler that threw. */
export type FireHook = <E extends LifecycleHookEvent>(event: E, payload: LifecycleHookPayloads[E]) => Promise<string[]>
