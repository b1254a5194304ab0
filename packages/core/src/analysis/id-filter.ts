import {UsageError} from '../lib/errors.js'
import {type ObjectIdKind, parseObjectId, readIdFile, tagBelongsTo} from '../usage/object-ids.js'

/**
 * Kinds an image filter accepts without MongoDB: environment and model tags start with their own id
 * (`<envId>-<n>`, `<modelId>-v<N>-…`), and legacy environment tags with a revision id. A model version's image
 * tag does not start with the version id, so resolving one needs the database and is refused here.
 */
export const IMAGE_FILTER_KINDS: readonly ObjectIdKind[] = ['environment', 'environmentRevision', 'model']

export interface ImageFilterInput {
  /** A typed ObjectId list (domain-spec §4.7), e.g. `environment:<id>` per line. */
  file?: string
  /** Bare 24-hex ids. */
  objectIds?: readonly string[]
  /** Plain tag prefixes. */
  tagPrefixes?: readonly string[]
}

export interface ImageFilter {
  /** Lowercase ObjectIds: a tag matches when it is the id or starts with `<id>-`. */
  ids: string[]
  /** True when the tag is selected; use it for report rows or as a scan `tagFilter`. */
  matches(tag: string): boolean
  /** A tag matches when it starts with one of these. */
  prefixes: string[]
}

/**
 * Builds the tag filter of the analysis commands' `--file`, `--object-id` and `--tag-prefix` flags, or null when none
 * is given. Every input is validated before anything runs: a bad line or id is a usage error (exit 2) naming it.
 */
export async function imageFilterFrom(input: ImageFilterInput): Promise<ImageFilter | null> {
  const ids = new Set<string>()
  if (input.file !== undefined) {
    const byKind = await readIdFile(input.file, {kinds: IMAGE_FILTER_KINDS})
    const fromFile = Object.values(byKind).flat()
    if (fromFile.length === 0) {
      throw new UsageError(`ObjectId file ${input.file} names no ids, so the filter would select nothing`, [
        'write one id per line, e.g. environment:68e64edfcaf3254005314c90',
      ])
    }

    for (const id of fromFile) ids.add(id)
  }

  for (const raw of input.objectIds ?? []) ids.add(parseObjectId(raw, '--object-id'))
  const prefixes = [...new Set(input.tagPrefixes ?? [])]
  if (prefixes.includes('')) throw new UsageError('--tag-prefix must not be empty (it would select every tag)')
  if (ids.size === 0 && prefixes.length === 0) return null
  const idList = [...ids]
  // Index ids by their 24-character head, so matching stays O(tags) for long id lists.
  const byHead = new Set(idList)
  return {
    ids: idList,
    matches(tag) {
      const head = tag.slice(0, 24).toLowerCase()
      return (byHead.has(head) && tagBelongsTo(tag.toLowerCase(), head)) || prefixes.some((p) => tag.startsWith(p))
    },
    prefixes,
  }
}
