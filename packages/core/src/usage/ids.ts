import type {Document} from 'mongodb'

import {isObjectIdHex} from './object-ids.js'

/**
 * The one definition of how a MongoDB field may hold an id, used both to read documents (`hexOf`) and to find
 * them (`idFilter`), so that a targeted query can never miss a document the full graph would attribute:
 * - an ObjectId;
 * - a 24-digit hex string of any case;
 * - either of those wrapped once as `{value: …}` (model_versions.modelId, buildId; tolerated everywhere).
 * Keep the two functions below in step with this list.
 */
const WRAPPER = 'value'

function bareHex(value: unknown): null | string {
  if (typeof value === 'string') return isObjectIdHex(value) ? value.toLowerCase() : null
  if (value !== null && typeof value === 'object') {
    const v = value as {toHexString?: () => string}
    if (typeof v.toHexString === 'function') return v.toHexString().toLowerCase()
  }

  return null
}

/** Lower-case hex of an id held in any accepted shape; null otherwise. */
export function hexOf(value: unknown): null | string {
  const bare = bareHex(value)
  if (bare !== null) return bare
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && WRAPPER in value) {
    return bareHex((value as Record<string, unknown>)[WRAPPER])
  }

  return null
}

/** The ObjectId class of the driver (loaded lazily: the driver is heavy). */
export interface ObjectIdClass {
  createFromHexString(hex: string): unknown
}

/**
 * A filter matching every document whose `field` holds one of `ids` in any shape `hexOf` accepts (a superset:
 * callers still read the value with `hexOf`). An empty list matches nothing.
 */
export function idFilter(ObjectId: ObjectIdClass, field: string, ids: Iterable<string>): Document {
  const list = [...new Set([...ids].map((id) => id.toLowerCase()))]
  if (list.length === 0) return {[field]: {$in: []}}
  const values = [...list.map((id) => ObjectId.createFromHexString(id)), ...list, ...list.map((id) => id.toUpperCase())]
  // Hex of mixed case: an anchored, case-insensitive regex (ids are [0-9a-f], nothing to escape). A regex only
  // matches strings: `$type` first lets ObjectId values (the usual shape) skip it; FerretDB evaluates in key order
  // (the live re-check's reads: 3-6× faster).
  // eslint-disable-next-line perfectionist/sort-objects -- the order is the point
  const regex = {$type: 'string', $options: 'i', $regex: `^(?:${list.join('|')})$`}
  const branches: Document[] = []
  for (const path of [field, `${field}.${WRAPPER}`]) branches.push({[path]: {$in: values}}, {[path]: regex})
  return {$or: branches}
}

/**
 * A filter matching every document whose revision spec `field` could name one of the revisions
 * (`SomeRevision(<id>)`, any case: see parseRevisionSpec): a superset, the spec is parsed after reading.
 */
export function specFilter(field: string, revisionIds: Iterable<string>): Document {
  const list = [...new Set([...revisionIds].map((id) => id.toLowerCase()))]
  if (list.length === 0) return {[field]: {$in: []}}
  return {[field]: {$options: 'i', $regex: `(?:${list.join('|')})`}}
}

/** `idFilter` bound to the driver's ObjectId, for code outside a read context. */
export async function loadIdFilter(): Promise<(field: string, ids: Iterable<string>) => Document> {
  const {ObjectId} = await import('mongodb')
  return (field, ids) => idFilter(ObjectId, field, ids)
}
