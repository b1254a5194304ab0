import type {HealthResult} from '../health/types.js'
import type {DeletionPlan, ItemOutcome} from './types.js'

/**
 * The custom oclif hook events of the deletion lifecycle and their payloads. Other plugins register handlers
 * for them in their package.json (`oclif.hooks`). The core owns order and failure handling: a failing handler is
 * a warning, except at `drc:preflight`, where a thrown error vetoes the run (exit code 3).
 */
export interface LifecycleHookPayloads {
  'drc:audit': {apply: boolean; report: unknown; strategy: string}
  'drc:backup': {failed: Array<{key: string; reason: string}>; strategy: string; verified: string[]}
  'drc:plan': {plan: DeletionPlan; strategy: string}
  'drc:postdelete': {outcomes: ItemOutcome[]; strategy: string}
  'drc:predelete': {plan: DeletionPlan; strategy: string}
  'drc:preflight': {checks: HealthResult[]; plan: DeletionPlan; strategy: string}
}

export type LifecycleHookEvent = keyof LifecycleHookPayloads

/** Fires one event; resolves with the message of every handler that threw. */
export type FireHook = <E extends LifecycleHookEvent>(event: E, payload: LifecycleHookPayloads[E]) => Promise<string[]>
