import type {Db} from 'mongodb'

import type {RegistryClient} from '../registry/client.js'
import type {UsageRules} from '../usage/types.js'
import type {ItemOutcome, PlanItem} from './types.js'

import {errorMessage} from '../lib/errors.js'
import {batchesOf, eachLimited} from './delete-batch.js'
import {type BatchChecks, checkBatch, RecheckFailedError, recheckVerdict, registryGuard} from './delete-checks.js'
import {itemKey} from './types.js'
import {stillServed, verifyLater} from './verify-later.js'

export {RecheckFailedError} from './delete-checks.js'

type Recheck = {inUse: boolean; reasons: string[]; usage?: unknown}

export interface DeleteDeps {
  /** The batched live re-check (src/usage/live.ts areInUse): one scoped usage build per batch. Else isInUse per tag. */
  areInUse?: (db: Db, refs: string[], rules: UsageRules) => Promise<Recheck[]>
  /**
   * Items per batch (checked together right before their deletes); default max(32, 16 × concurrency), at most 100
   * (a re-check costs about the same for 10 tags as for 100: MongoDB scans the same documents).
   */
  batchSize?: number
  /** Runs right before each DELETE is sent (the journal records it first); a failure fails that item. */
  beforeDelete?: (item: PlanItem) => Promise<void>
  /** DELETEs in flight at once (security.delete_concurrency); default 1. */
  concurrency?: number
  db: Db
  /** Checks whether an image is in use right now (src/usage/live.ts isInUse; injected for the lazy import). */
  isInUse: (db: Db, ref: string, rules: UsageRules) => Promise<Recheck>
  /** Checks older than this when an item's turn comes are read again for that item alone; default 30 s. */
  maxCheckAgeMs?: number
  /** Items that may not be deleted (backup failed), with the reason. */
  notAllowed?: Map<string, string>
  onItem?: (outcome: ItemOutcome) => void
  /** A note for the audit report (e.g. the re-check disagreeing with the plan). */
  onWarning?: (warning: string) => void
  /**
   * Tags each repository had when the plan was made. A tag not in it was pushed since; if it points at a planned
   * digest, deleting that digest would delete it too (pitfall P1), so the item stays. Without it, that check is off.
   */
  plannedTags?: ReadonlyMap<string, ReadonlySet<string>>
  registry: RegistryClient
  rules: UsageRules
  /** The rules at this moment (each batch's re-check uses its own "now"); default: `rules`. */
  rulesNow?: () => UsageRules
  signal?: AbortSignal
  /** Later verification of accepted deletes whose HEAD failed: attempts and first delay (default 4, 500 ms). */
  verify?: {attempts: number; delayMs: number}
}

const planVerdict = (item: PlanItem): string | undefined =>
  item.inUseAtPlan === undefined ? undefined : item.inUseAtPlan ? `in use: ${item.inUseAtPlan}` : 'unused'

/**
 * Per tagged item: its live re-check (read with its batch, seconds before), then the second line of defence: an
 * item in use at planning is never deleted in this run, whatever the re-check says (a disagreement is a warning:
 * it signals a bug). Then the registry guards. Returns why it stays, or null.
 */
async function mayGo(
  item: PlanItem,
  deps: DeleteDeps,
  checks: BatchChecks,
  outcome: Partial<ItemOutcome>,
): Promise<null | string> {
  const {keep, verdict} = recheckVerdict(item, checks)
  const plan = planVerdict(item)
  if (plan !== undefined) outcome.verdicts = {plan, recheck: verdict}
  if (plan !== undefined && (plan === 'unused') !== (verdict === 'unused'))
    deps.onWarning?.(
      `re-check disagrees with the plan for ${itemKey(item)}: plan said "${plan}", re-check says "${verdict}"`,
    )
  if (item.inUseAtPlan) return `in use at planning: ${item.inUseAtPlan} (kept whatever the re-check says)`
  return keep ?? registryGuard(item, deps, checks)
}

/** The run's shared state: outcomes so far, accepted keys, deletes to verify later, and why it stopped. */
class Run {
  readonly accepted = new Set<string>()
  readonly done = new Map<string, ItemOutcome>()
  recheckFailure: RecheckFailedError | undefined
  readonly unverified: ItemOutcome[] = []

  constructor(readonly deps: DeleteDeps) {}

  record(item: PlanItem, status: ItemOutcome['status'], reason?: string, extra: Partial<ItemOutcome> = {}) {
    const outcome: ItemOutcome = {digest: item.digest, reason, repository: item.repository, status, tags: item.tags}
    if (extra.verdicts) outcome.verdicts = extra.verdicts
    this.done.set(itemKey(item), outcome)
    if (status === 'deleted' || status === 'deleted-unverified') this.accepted.add(itemKey(item))
    this.deps.onItem?.(outcome)
    return outcome
  }

  /** Why nothing more may start: a signal, or a failed re-check (null: go on). */
  stopReason(): null | string {
    if (this.recheckFailure) return 'not attempted: the usage re-check failed'
    return this.deps.signal?.aborted ? 'cancelled before it was deleted' : null
  }
}

/** Checks older than maxCheckAgeMs are read again for this item alone, so check and DELETE stay seconds apart. */
async function freshChecks(run: Run, item: PlanItem, checks: BatchChecks): Promise<BatchChecks> {
  return Date.now() - checks.at > (run.deps.maxCheckAgeMs ?? 30_000) ? checkBatch([item], run.deps) : checks
}

/** One item: guards, the journal, DELETE, and the HEAD that must answer 404. */
async function deleteOne(run: Run, item: PlanItem, batchChecks: BatchChecks): Promise<void> {
  const {deps} = run
  const blocked = deps.notAllowed?.get(itemKey(item))
  if (blocked) {
    run.record(item, 'failed', blocked)
    return
  }

  if (item.parents.some((p) => !run.accepted.has(p))) {
    run.record(item, 'skipped', 'an index listing it was not deleted')
    return
  }

  const extra: Partial<ItemOutcome> = {}
  try {
    const checks = await freshChecks(run, item, batchChecks)
    const reason = item.tags.length > 0 || item.inUseAtPlan ? await mayGo(item, deps, checks, extra) : null
    if (reason) {
      run.record(item, 'skipped', reason, extra)
      return
    }

    // Another worker's re-check failed, or a signal came, while this one was checking: it does not go.
    const stop = run.stopReason()
    if (stop) {
      run.record(item, 'skipped', stop, extra)
      return
    }

    await deps.beforeDelete?.(item)
    await deps.registry.deleteManifest(item.repository, item.digest)
  } catch (error) {
    if (error instanceof RecheckFailedError) {
      run.recheckFailure ??= error
      run.record(item, 'failed', error.message)
      return
    }

    run.record(item, 'failed', errorMessage(error), extra)
    return
  }

  // Accepted (202): from here on the item is never "not deleted", whatever the verification says.
  const still = await stillServed(deps.registry, item)
  if (still === true)
    run.record(item, 'failed', 'the registry accepted the delete but still serves the manifest', extra)
  else if (still === false) run.record(item, 'deleted', undefined, extra)
  else
    run.unverified.push(run.record(item, 'deleted-unverified', `accepted (202), verification failed: ${still}`, extra))
}

/** A batch's checks, or why they could not be read (never a rejected promise left unobserved). */
async function settled(p: Promise<BatchChecks>): Promise<{checks: BatchChecks} | {error: unknown}> {
  return p.then(
    (checks) => ({checks}),
    (error: unknown) => ({error}),
  )
}

/**
 * Deletes the planned revisions in order (index before children), in small batches: right before a batch's
 * deletes (read while the batch before it is deleted), one live usage re-check for all its tags (fail closed) and
 * one tag listing per repository (tags pushed since planning); then up to `concurrency` items at a time: the
 * digest guard (a HEAD per tag), DELETE, and a HEAD that must answer 404. A DELETE the registry accepted whose
 * HEAD fails is `deleted-unverified` and verified again at the end (never deleted again). An index child only
 * goes when every planned index listing it went. A failed re-check stops everything (RecheckFailedError, with the
 * outcomes so far attached); other failures are per item. Outcomes are returned in plan order.
 */
export async function deleteItems(items: readonly PlanItem[], deps: DeleteDeps): Promise<ItemOutcome[]> {
  const run = new Run(deps)
  const concurrency = Math.max(1, deps.concurrency ?? 1)
  const size = deps.batchSize ?? Math.min(100, Math.max(32, 16 * concurrency))
  const batches = batchesOf(items, size)
  // The next batch's checks are read while this batch's items are deleted (MongoDB and the registry work at the
  // same time), so they are at most about two batches old when its last item goes; maxCheckAgeMs bounds that.
  let next = batches.length > 0 ? settled(checkBatch(batches[0], deps)) : undefined
  try {
    for (const [n, batch] of batches.entries()) {
      if (run.stopReason()) break
      // eslint-disable-next-line no-await-in-loop -- batches run one after the other, each checked right before
      const checked = await next!
      next = n + 1 < batches.length && !run.stopReason() ? settled(checkBatch(batches[n + 1], deps)) : undefined
      if ('error' in checked) {
        if (checked.error instanceof RecheckFailedError) {
          run.recheckFailure = checked.error
          run.record(batch[0], 'failed', checked.error.message)
          break
        }

        // The registry could not be listed: this batch's items fail, the next batch tries again.
        for (const item of batch) run.record(item, 'failed', `tag listing failed: ${errorMessage(checked.error)}`)
        continue
      }

      // eslint-disable-next-line no-await-in-loop
      await eachLimited(
        batch,
        concurrency,
        (item) => deleteOne(run, item, checked.checks),
        () => Boolean(run.stopReason()),
      )
    }
  } finally {
    // A read started for a batch that will not run is waited for, so no query outlives the run (its client).
    await next
  }

  for (const item of items)
    if (!run.done.has(itemKey(item))) run.record(item, 'skipped', run.stopReason() ?? 'not attempted')
  await verifyLater(run.unverified, deps)
  const outcomes = items.map((i) => run.done.get(itemKey(i))!)
  if (run.recheckFailure) throw Object.assign(run.recheckFailure, {outcomes})
  return outcomes
}
