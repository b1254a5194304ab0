import {modelTagKey, normalizeRepository} from '@drc/core'

import type {ArchivedImage} from './archived.js'

/** A stored slug tag that is only the `<modelId>-vN` prefix of its registry tags (domain-spec §1.1). */
export const isModelTagPrefix = (tag: string): boolean => modelTagKey(tag) === tag.toLowerCase()

/**
 * Mongo may store a model version's slug tag as `<modelId>-vN` while the registry holds `<modelId>-vN-<ts>_<uid>`:
 * each such image becomes every registry tag of that version (the same modelTagKey), so it is planned instead of
 * being "not in the registry" (`listTags` should list each repository once). Full stored tags pass unchanged; a prefix the registry does not hold stays as is.
 */
export async function expandModelPrefixes(
  images: ArchivedImage[],
  listTags: (repository: string) => Promise<string[]>,
): Promise<ArchivedImage[]> {
  const out: ArchivedImage[] = []
  for (const image of images) {
    if (!isModelTagPrefix(image.tag)) {
      out.push(image)
      continue
    }

    const key = modelTagKey(image.tag)
    // eslint-disable-next-line no-await-in-loop -- the caller shares one listing per repository
    const full = (await listTags(normalizeRepository(image.repository))).filter((t) => modelTagKey(t) === key)
    out.push(...(full.length > 0 ? full.map((tag) => ({...image, tag})) : [image]))
  }

  return out
}
