import type {Db} from 'mongodb'

import type {BackupStore} from '../backup/types.js'
import type {RegistryClient} from '../registry/client.js'
import type {UsageRules} from '../usage/types.js'
import type {ItemOutcome, PlanItem} from './types.js'

import {DrcError, errorMessage} from '../lib/errors.js'
import {ExitCode} from '../lib/exit-codes.js'
import {NotFoundError} from '../registry/errors.js'
import {imageTypeOf} from '../usage/join.js'
import {itemKey} from './types.js'

/** The usage re-check could not read MongoDB: nothing more is deleted (invariant 3, fail closed). */
export class RecheckFailedError extends DrcError {
  constructor(item: PlanItem, cause: unknown) {
    super(
      `usage re-check of ${item.repository}@${item.digest} failed, so nothing more is deleted: ${errorMessage(cause)}`,
      {
        cause,
        exitCode: ExitCode.FAILURE,
        suggestions: ['check MongoDB (drc health --only mongodb) and run the deletion again'],
      },
    )
    this.name = 'RecheckFailedError'
  }
}

/**
 * Backs up every tagged planned revision (an index with all its children) and verifies it (invariant 4). Returns
 * the keys that are backed up and verified, and a failure reason per key that is not.
 */
export async function backupItems(
  items: readonly PlanItem[],
  registry: RegistryClient,
  store: BackupStore,
  onItem: (item: PlanItem, error: null | string) => void = () => {},
): Promise<{failed: Map<string, string>; verified: Set<string>}> {
  const [{backupImage}, {verifyBackup}] = await Promise.all([
    import('../backup/backup.js'),
    import('../backup/verify.js'),
  ])
  const verified = new Set<string>()
  const failed = new Map<string, string>()
  for (const item of items) {
    // Index children are part of their index's backup.
    if (item.tags.length === 0) continue
    let problem: null | string = null
    try {
      // Backed up by tag (restore finds it by tag); the digest check below catches a tag that moved since planning.
      const ref = {repository: item.repository, tag: item.tags[0]}
      // eslint-disable-next-line no-await-in-loop -- one image at a time; each streams its blobs concurrently
      const result = await backupImage(registry, store, ref)
      if (result.record.digest === item.digest) {
        // eslint-disable-next-line no-await-in-loop
        const check = await verifyBackup(store, ref)
        if (!check.verified) problem = `backup not verified: ${check.problems.map((p) => p.detail).join('; ')}`
      } else {
        problem = `backup failed: ${item.repository}:${item.tags[0]} now points at ${result.record.digest}, not the planned ${item.digest}`
      }
    } catch (error) {
      problem = `backup failed: ${errorMessage(error)}`
    }

    if (problem) failed.set(itemKey(item), problem)
    else verified.add(itemKey(item))
    onItem(item, problem)
  }

  return {failed, verified}
}

export interface DeleteDeps {
  db: Db
  /** Checks whether an image is in use right now (src/usage/live.ts isInUse; injected for the lazy import). */
  isInUse: (db: Db, ref: string, rules: UsageRules) => Promise<{inUse: boolean; reasons: string[]; usage?: unknown}>
  /** Items that may not be deleted (backup failed), with the reason. */
  notAllowed?: Map<string, string>
  onItem?: (outcome: ItemOutcome) => void
  /**
   * Tags each repository had when the plan was made. A tag not in it was pushed since; if it points at a planned
   * digest, deleting that digest would delete it too (pitfall P1), so the item stays. Without it, that check is off.
   */
  plannedTags?: ReadonlyMap<string, ReadonlySet<string>>
  registry: RegistryClient
  rules: UsageRules
  signal?: AbortSignal
}

/** Why a tagged item must stay, from a live look at MongoDB and the registry; null when it may go. */
async function guard(item: PlanItem, deps: DeleteDeps): Promise<null | string> {
  const type = imageTypeOf(item.repository)
  if (!type) return `${item.repository} is not a Domino environment or model repository`
  for (const tag of item.tags) {
    let verdict
    try {
      // eslint-disable-next-line no-await-in-loop -- each tag is checked right before this item's delete
      verdict = await deps.isInUse(deps.db, `${type}:${tag}`, deps.rules)
    } catch (error) {
      throw new RecheckFailedError(item, error)
    }

    if (!verdict.usage) return `${tag} is unknown to MongoDB at the re-check`
    if (verdict.inUse) return `in use: ${tag}: ${verdict.reasons.join('; ')}`
  }

  // The digest guard: a tag pushed again since planning now names another image, which is not ours to delete.
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

  return newTagOnDigest(item, deps)
}

/** A tag pushed since planning that points at this digest (one tag list, then a HEAD per new tag only). */
async function newTagOnDigest(item: PlanItem, deps: DeleteDeps): Promise<null | string> {
  const known = deps.plannedTags?.get(item.repository)
  if (!known) return null
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

/**
 * Deletes the planned revisions in order (index before children). Per item: the re-check (usage of every tag
 * on the digest, fail closed), the digest guard, DELETE, and a HEAD that must answer 404. An index child only
 * goes when every planned index listing it went. A failed re-check stops everything (RecheckFailedError, with
 * the outcomes so far attached); other failures are per item.
 */
export async function deleteItems(items: readonly PlanItem[], deps: DeleteDeps): Promise<ItemOutcome[]> {
  const outcomes: ItemOutcome[] = []
  const deleted = new Set<string>()
  const record = (item: PlanItem, status: ItemOutcome['status'], reason?: string) => {
    const outcome: ItemOutcome = {digest: item.digest, reason, repository: item.repository, status, tags: item.tags}
    outcomes.push(outcome)
    if (status === 'deleted') deleted.add(itemKey(item))
    deps.onItem?.(outcome)
  }

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

    if (item.parents.some((p) => !deleted.has(p))) {
      record(item, 'skipped', 'an index listing it was not deleted')
      continue
    }

    try {
      // eslint-disable-next-line no-await-in-loop
      const reason = item.tags.length > 0 ? await guard(item, deps) : null
      if (reason) {
        record(item, 'skipped', reason)
        continue
      }

      // eslint-disable-next-line no-await-in-loop
      await deps.registry.deleteManifest(item.repository, item.digest)
      // eslint-disable-next-line no-await-in-loop
      const still = await deps.registry.headManifest(item.repository, item.digest).then(
        () => true,
        (error: unknown) => {
          if (error instanceof NotFoundError) return false
          throw error
        },
      )
      if (still) record(item, 'failed', 'the registry accepted the delete but still serves the manifest')
      else record(item, 'deleted')
    } catch (error) {
      if (error instanceof RecheckFailedError) {
        record(item, 'failed', error.message)
        for (const rest of items.slice(i + 1)) record(rest, 'skipped', 'not attempted: the usage re-check failed')
        throw Object.assign(error, {outcomes})
      }

      record(item, 'failed', errorMessage(error))
    }
  }

  return outcomes
}
