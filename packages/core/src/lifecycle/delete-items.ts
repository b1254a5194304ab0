import type {Db} from 'mongodb'

import type {RegistryClient} from '../registry/client.js'
import type {UsageRules} from '../usage/types.js'
import type {ItemOutcome, PlanItem} from './types.js'

import {DrcError, errorMessage} from '../lib/errors.js'
import {ExitCode} from '../lib/exit-codes.js'
import {NotFoundError} from '../registry/errors.js'
import {imageTypeOf} from '../usage/join.js'
import {itemKey} from './types.js'
import {stillServed, verifyLater} from './verify-later.js'

/** The usage re-check could not read MongoDB: nothing more is deleted (invariant 3, fail closed). */
export class RecheckFailedError extends DrcError {
  constructor(item: PlanItem, cause: unknown) {
    super(
      `usage re-check of ${item.repository}@${item.digest} failed, so nothing more is deleted: ${errorMessage(cause)}`,
      {
        cause,
        exitCode: ExitCode.FAILURE,
        suggestions: ['check MongoDB (drc health --check mongodb) and run the deletion again'],
      },
    )
    this.name = 'RecheckFailedError'
  }
}

export interface DeleteDeps {
  /** Runs right before each DELETE is sent (the journal records it first); a failure fails that item. */
  beforeDelete?: (item: PlanItem) => Promise<void>
  db: Db
  /** Checks whether an image is in use right now (src/usage/live.ts isInUse; injected for the lazy import). */
  isInUse: (db: Db, ref: string, rules: UsageRules) => Promise<{inUse: boolean; reasons: string[]; usage?: unknown}>
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
  signal?: AbortSignal
  /** Later verification of accepted deletes whose HEAD failed: attempts and first delay (default 4, 500 ms). */
  verify?: {attempts: number; delayMs: number}
}

/** The live re-check of every tag: the verdict for the audit, and why the item must stay (null: it may go). */
async function recheck(item: PlanItem, deps: DeleteDeps): Promise<{keep: null | string; verdict: string}> {
  const type = imageTypeOf(item.repository)
  if (!type) {
    const why = `${item.repository} is not a Domino environment or model repository`
    return {keep: why, verdict: why}
  }

  for (const tag of item.tags) {
    let verdict
    try {
      // eslint-disable-next-line no-await-in-loop -- each tag is checked right before this item's delete
      verdict = await deps.isInUse(deps.db, `${type}:${tag}`, deps.rules)
    } catch (error) {
      throw new RecheckFailedError(item, error)
    }

    if (!verdict.usage) return {keep: `${tag} is unknown to MongoDB at the re-check`, verdict: `${tag}: unknown`}
    if (verdict.inUse) {
      const why = `in use: ${tag}: ${verdict.reasons.join('; ')}`
      return {keep: why, verdict: why}
    }
  }

  return {keep: null, verdict: 'unused'}
}

/** The digest guard and new-tag check: why the registry side says the item must stay (null: it may go). */
async function registryGuard(item: PlanItem, deps: DeleteDeps): Promise<null | string> {
  // A tag pushed again since planning now names another image, which is not ours to delete.
  for (const tag of item.tags) {
    let now: string
    try {
      // eslint-disable-next-line no-await-in-loop
      now = (await deps.registry.headManifest(item.repository, tag)).digest
    } catch (error) {
      if (error instanceof NotFoundError) return `tag ${tag} no longer exists`
      throw error
    }

    if (now !== item.digest) return `digest changed since planning: ${tag} now points at ${now}`
  }

  const known = deps.plannedTags?.get(item.repository)
  if (!known) return null
  // A tag pushed since planning that points at this digest (one tag list, then a HEAD per new tag only).
  const fresh = (await deps.registry.listTags(item.repository)).filter((t) => !known.has(t))
  for (const tag of fresh) {
    try {
      // eslint-disable-next-line no-await-in-loop -- new tags are rare; each is checked once
      if ((await deps.registry.headManifest(item.repository, tag)).digest === item.digest)
        return `tag ${tag}, pushed since planning, points at this digest`
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error
    }
  }

  return null
}

const planVerdict = (item: PlanItem): string | undefined =>
  item.inUseAtPlan === undefined ? undefined : item.inUseAtPlan ? `in use: ${item.inUseAtPlan}` : 'unused'

/**
 * Per tagged item: the re-check, then the second line of defence: an item in use at planning is never deleted
 * in this run, whatever the re-check says (a disagreement is a warning: it signals a bug). Then the registry
 * guards. Returns why it stays, or null.
 */
async function mayGo(item: PlanItem, deps: DeleteDeps, outcome: Partial<ItemOutcome>): Promise<null | string> {
  const {keep, verdict} = await recheck(item, deps)
  const plan = planVerdict(item)
  if (plan !== undefined) outcome.verdicts = {plan, recheck: verdict}
  if (plan !== undefined && (plan === 'unused') !== (verdict === 'unused'))
    deps.onWarning?.(
      `re-check disagrees with the plan for ${itemKey(item)}: plan said "${plan}", re-check says "${verdict}"`,
    )
  if (item.inUseAtPlan) return `in use at planning: ${item.inUseAtPlan} (kept whatever the re-check says)`
  return keep ?? registryGuard(item, deps)
}

/**
 * Deletes the planned revisions in order (index before children). Per item: the re-check (usage of every tag
 * on the digest, fail closed), the digest guard, DELETE, and a HEAD that must answer 404. A DELETE the registry
 * accepted whose HEAD fails is `deleted-unverified` and verified again at the end (never deleted again). An
 * index child only goes when every planned index listing it went. A failed re-check stops everything
 * (RecheckFailedError, with the outcomes so far attached); other failures are per item.
 */
export async function deleteItems(items: readonly PlanItem[], deps: DeleteDeps): Promise<ItemOutcome[]> {
  const outcomes: ItemOutcome[] = []
  const accepted = new Set<string>()
  const record = (item: PlanItem, status: ItemOutcome['status'], reason?: string, extra: Partial<ItemOutcome> = {}) => {
    const outcome: ItemOutcome = {digest: item.digest, reason, repository: item.repository, status, tags: item.tags}
    if (extra.verdicts) outcome.verdicts = extra.verdicts
    outcomes.push(outcome)
    if (status === 'deleted' || status === 'deleted-unverified') accepted.add(itemKey(item))
    deps.onItem?.(outcome)
    return outcome
  }

  const unverified: ItemOutcome[] = []
  for (const [i, item] of items.entries()) {
    const blocked = deps.notAllowed?.get(itemKey(item))
    if (deps.signal?.aborted) {
      record(item, 'skipped', 'cancelled before it was deleted')
      continue
    }

    if (blocked) {
      record(item, 'failed', blocked)
      continue
    }

    if (item.parents.some((p) => !accepted.has(p))) {
      record(item, 'skipped', 'an index listing it was not deleted')
      continue
    }

    const extra: Partial<ItemOutcome> = {}
    try {
      // eslint-disable-next-line no-await-in-loop
      const reason = item.tags.length > 0 || item.inUseAtPlan ? await mayGo(item, deps, extra) : null
      if (reason) {
        record(item, 'skipped', reason, extra)
        continue
      }

      // eslint-disable-next-line no-await-in-loop
      await deps.beforeDelete?.(item)
      // eslint-disable-next-line no-await-in-loop
      await deps.registry.deleteManifest(item.repository, item.digest)
    } catch (error) {
      if (error instanceof RecheckFailedError) {
        record(item, 'failed', error.message)
        for (const rest of items.slice(i + 1)) record(rest, 'skipped', 'not attempted: the usage re-check failed')
        // eslint-disable-next-line no-await-in-loop -- once, on the way out
        await verifyLater(unverified, deps)
        throw Object.assign(error, {outcomes})
      }

      record(item, 'failed', errorMessage(error), extra)
      continue
    }

    // Accepted (202): from here on the item is never "not deleted", whatever the verification says.
    // eslint-disable-next-line no-await-in-loop
    const still = await stillServed(deps.registry, item)
    if (still === true) record(item, 'failed', 'the registry accepted the delete but still serves the manifest', extra)
    else if (still === false) record(item, 'deleted', undefined, extra)
    else unverified.push(record(item, 'deleted-unverified', `accepted (202), verification failed: ${still}`, extra))
  }

  await verifyLater(unverified, deps)
  return outcomes
}
