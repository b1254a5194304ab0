import {inspect} from 'node:util'

/** Called once per MongoDB document that cannot be understood; the item it describes is left alone (kept). */
export type MalformedHandler = (message: string) => void

/** Default handler: a warning on stderr (stdout stays machine-readable). */
export const warnOnStderr: MalformedHandler = (message) => {
  process.stderr.write(`Warning: ${message}\n`)
}

/**
 * The message for a document drc cannot use: names the collection, the document `_id` and the field, says what
 * is wrong and that the item is kept (fail closed), so the operator can find and fix the document.
 */
export function malformedMessage(collection: string, id: unknown, field: string, problem: string): string {
  const shownId = inspect(id, {breakLength: Number.POSITIVE_INFINITY, depth: 2})
  return `${collection} document _id ${shownId}: field '${field}' ${problem}; skipped, nothing it names is deleted`
}
