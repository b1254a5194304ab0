import type {DeleteDeps} from './delete-items.js'
import type {PlanItem} from './types.js'

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
        suggestions: ['check MongoDB (drc health --check mongodb) and run the deletion again'],
      },
    )
    this.name = 'RecheckFailedError'
  }
}

type LiveVerdict = {inUse: boolean; reasons: string[]; usage?: unknown}

/**
 * What a batch's checks found, read right before its deletes: the live usage verdict of every tag and the digests
 * a tag pushed since planning points at (one tag listing per repository per batch, then a HEAD per new tag).
 */
export interface BatchChecks {
  /**
   * When reading them started (ms; the start, so a slow read does not make them look fresher than they are): older
   * than DeleteDeps.maxCheckAgeMs, an item is checked again on its own.
   */
  at: number
  /** `repository@digest` → the new tag pointing at it. */
  newTagOn: Map<string, string>
  /** `<image type>:<tag>` → the live verdict. */
  verdicts: Map<string, LiveVerdict>
}

const refOf = (type: string, tag: string) => `${type}:${tag}`

/** The live usage of every tag of the batch: one scoped usage build for all of them (fail closed). */
async function verdictsOf(batch: readonly PlanItem[], deps: DeleteDeps): Promise<Map<string, LiveVerdict>> {
  const refs = [
    ...new Set(
      batch.flatMap((i) => {
        const type = imageTypeOf(i.repository)
        return type ? i.tags.map((t) => refOf(type, t)) : []
      }),
    ),
  ]
  const verdicts = new Map<string, LiveVerdict>()
  if (refs.length === 0) return verdicts
  const rules = deps.rulesNow?.() ?? deps.rules
  try {
    const list = deps.areInUse
      ? await deps.areInUse(deps.db, refs, rules)
      : await Promise.all(refs.map((r) => deps.isInUse(deps.db, r, rules)))
    for (const [i, r] of refs.entries()) verdicts.set(r, list[i])
  } catch (error) {
    throw new RecheckFailedError(batch[0], error)
  }

  return verdicts
}

/** Tags pushed since planning (not in DeleteDeps.plannedTags) and the planned digests they point at. */
async function newTags(batch: readonly PlanItem[], deps: DeleteDeps): Promise<Map<string, string>> {
  const on = new Map<string, string>()
  const repositories = [...new Set(batch.filter((i) => i.tags.length > 0).map((i) => i.repository))]
  for (const repository of repositories) {
    const known = deps.plannedTags?.get(repository)
    if (!known) continue
    // eslint-disable-next-line no-await-in-loop -- one listing per repository per batch
    const fresh = (await deps.registry.listTags(repository)).filter((t) => !known.has(t))
    for (const tag of fresh) {
      try {
        // eslint-disable-next-line no-await-in-loop -- new tags are rare; each is checked once per batch
        const {digest} = await deps.registry.headManifest(repository, tag)
        on.set(itemKey({digest, repository}), tag)
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error
      }
    }
  }

  return on
}

/** Reads the batch's checks; a failed usage read throws RecheckFailedError (nothing more is deleted). */
export async function checkBatch(batch: readonly PlanItem[], deps: DeleteDeps): Promise<BatchChecks> {
  const at = Date.now()
  const verdicts = await verdictsOf(batch, deps)
  // A listing failure is per batch: its items fail (below), the run goes on with the next batch.
  const newTagOn = await newTags(batch, deps)
  return {at, newTagOn, verdicts}
}

/** The re-check verdict of an item's tags from its batch: for the audit, and why it must stay (null: it may go). */
export function recheckVerdict(item: PlanItem, checks: BatchChecks): {keep: null | string; verdict: string} {
  const type = imageTypeOf(item.repository)
  if (!type) {
    const why = `${item.repository} is not a Domino environment or model repository`
    return {keep: why, verdict: why}
  }

  for (const tag of item.tags) {
    const verdict = checks.verdicts.get(refOf(type, tag))
    if (!verdict?.usage) return {keep: `${tag} is unknown to MongoDB at the re-check`, verdict: `${tag}: unknown`}
    if (verdict.inUse) {
      const why = `in use: ${tag}: ${verdict.reasons.join('; ')}`
      return {keep: why, verdict: why}
    }
  }

  return {keep: null, verdict: 'unused'}
}

/** The digest guard (a HEAD per tag) and the batch's new-tag check: why the item must stay (null: it may go). */
export async function registryGuard(item: PlanItem, deps: DeleteDeps, checks: BatchChecks): Promise<null | string> {
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

  const fresh = checks.newTagOn.get(itemKey(item))
  return fresh ? `tag ${fresh}, pushed since planning, points at this digest` : null
}
