/** How a project, workspace or scheduler job picks a revision of its environment. */
export type RevisionSpec = {kind: 'active'} | {kind: 'some'; revisionId: string} | {kind: 'unknown'; raw: string}

const SOME = /^\s*SomeRevision\(\s*([\da-f]{24})\s*\)\s*$/i

/**
 * `ActiveRevision` (or nothing) → the environment's activeRevisionId; `SomeRevision(<id>)` → that revision.
 * Anything else is kept as unknown so callers can fall back conservatively (protect the active revision).
 */
export function parseRevisionSpec(value: unknown): RevisionSpec {
  if (value === null || value === undefined || value === '') return {kind: 'active'}
  const s = String(value)
  if (/^\s*ActiveRevision\s*$/i.test(s)) return {kind: 'active'}
  const m = SOME.exec(s)
  if (m) return {kind: 'some', revisionId: m[1].toLowerCase()}
  return {kind: 'unknown', raw: s}
}

const MODEL_TAG = /^([\da-f]{24})-v(\d+)(?:-.*)?$/i

/**
 * The version key `<modelId>-vN` of a model tag. Mongo stores either that prefix or the full
 * `<modelId>-vN-<ts>_<uid>` registry tag (domain-spec §1.1), so both forms map to the same key.
 */
export function modelTagKey(tag: string): null | string {
  const m = MODEL_TAG.exec(tag)
  if (!m) return null
  return `${m[1].toLowerCase()}-v${Number(m[2])}`
}

export function modelIdOfTag(tag: string): null | string {
  const m = MODEL_TAG.exec(tag)
  return m ? m[1].toLowerCase() : null
}

// hexOf lives with idFilter (one definition of the id shapes); re-exported for existing importers.
export {hexOf} from './ids.js'

/** Creation time encoded in an ObjectId (its first 4 bytes are seconds since the epoch). */
export function objectIdTime(hex: string): Date {
  return new Date(Number.parseInt(hex.slice(0, 8), 16) * 1000)
}
