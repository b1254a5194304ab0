import type {BackupStore} from './types.js'

import {fromDescriptor, type IndexedBackup, readIndex} from './oci-index.js'

export interface ListFilter {
  repository?: string
  tagPrefix?: string
}

/** What the bucket holds, from index.json (one read): every backed-up ref, newest first. */
export async function listBackups(target: BackupStore, filter: ListFilter = {}): Promise<IndexedBackup[]> {
  const {index} = await readIndex(target)
  const out: IndexedBackup[] = []
  for (const d of index.manifests) {
    const e = fromDescriptor(d)
    if (!e) continue
    if (filter.repository !== undefined && e.repository !== filter.repository) continue
    if (filter.tagPrefix !== undefined && !(e.tag ?? '').startsWith(filter.tagPrefix)) continue
    out.push(e)
  }

  return out.sort((a, b) => (b.backedUpAt ?? '').localeCompare(a.backedUpAt ?? '') || a.ref.localeCompare(b.ref))
}

/**
 * The predecessor's `restore --tags t1 t2`: each tag is looked up in index.json (in `repository` when given).
 * A tag found in no backup, or in several repositories, is reported instead of guessed.
 */
export async function resolveTags(
  target: BackupStore,
  tags: readonly string[],
  repository?: string,
): Promise<Array<{error: null | string; ref: null | {repository: string; tag: string}; tag: string}>> {
  const all = await listBackups(target, {repository})
  return tags.map((tag) => {
    const repos = [...new Set(all.filter((b) => b.tag === tag).map((b) => b.repository))]
    if (repos.length === 1) return {error: null, ref: {repository: repos[0], tag}, tag}
    const where = repository ? ` of ${repository}` : ''
    return {
      error:
        repos.length === 0
          ? `no backup${where} has tag ${tag} (see \`drc backup list\`)`
          : `tag ${tag} is backed up in ${repos.join(', ')}: name the repository (--repository or <repository>:<tag>)`,
      ref: null,
      tag,
    }
  })
}
