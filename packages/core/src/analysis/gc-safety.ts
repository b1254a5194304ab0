import type {BlobGraph} from './graph.js'

export interface GcSafety {
  deleteUntagged: boolean
  /** Why (printed and kept in the audit). */
  reason: string
}

/**
 * `garbage-collect --delete-untagged` deletes every manifest no tag points at, and Distribution 2.8 does not count
 * an index's children as referenced: the platform images of a multi-arch tag would lose their manifests (the index
 * then points at nothing). So it is only used when the graph (every tagged manifest of the scanned repositories)
 * holds no OCI index / manifest list at all.
 */
export function gcSafety(graph: BlobGraph): GcSafety {
  const indexes = graph.listRevisions().filter((r) => graph.manifest(r.digest)?.kind === 'index')
  if (indexes.length === 0)
    return {deleteUntagged: true, reason: 'no OCI index or manifest list in the scanned repositories'}
  const first = indexes[0]
  return {
    deleteUntagged: false,
    reason: `without --delete-untagged: ${indexes.length} OCI index(es) / manifest list(s) (e.g. ${first.repository}@${first.digest}) whose child manifests are untagged and would be deleted; untagged manifests stay, only unreferenced blobs go`,
  }
}

/**
 * A fresh scan for the decision: GC is registry-wide, so every repository of the catalog (the configured ones
 * when the catalog is refused, and then the reason says so).
 */
export async function scanForGcSafety(
  config: import('../config/types.js').DrcConfig,
  signal?: AbortSignal,
): Promise<GcSafety & {repositories: number}> {
  const [{openRegistryClient}, {defaultRepositories, scanRegistry}] = await Promise.all([
    import('../registry/open.js'),
    import('./scan.js'),
  ])
  const client = await openRegistryClient(config)
  try {
    let repositories: string[]
    let scope = 'catalog'
    try {
      repositories = await client.catalog()
    } catch {
      repositories = defaultRepositories(config.registry.repository, config.registry.scan_repositories)
      scope = 'configured repositories only (catalog refused)'
    }

    const {graph} = await scanRegistry(client, {
      concurrency: config.analysis.max_workers * 2,
      repositories,
      signal,
    })
    const safety = gcSafety(graph)
    // An index in a repository we could not see would lose its children just the same.
    if (scope !== 'catalog' && safety.deleteUntagged)
      return {deleteUntagged: false, reason: `without --delete-untagged: ${scope}`, repositories: repositories.length}
    return {
      ...safety,
      reason: `${safety.reason} (${scope}: ${repositories.length} repositories)`,
      repositories: repositories.length,
    }
  } finally {
    await client.close()
  }
}
