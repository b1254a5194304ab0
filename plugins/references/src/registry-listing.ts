import {
  type DrcConfig,
  DrcError,
  errorMessage,
  ExitCode,
  normalizeRepository,
  NotFoundError,
  openRegistryClient,
} from '@drc/core'

/** Tags of one repository as the registry lists them right now; `unknown`: the registry does not know it (404). */
export interface RepositoryListing {
  tags: Set<string>
  unknown: boolean
}

/** The configured registry's host[:port], for messages and to tell its repositories from another registry's. */
export function registryHost(config: DrcConfig): string {
  return config.registry.url.replace(/^https?:\/\//, '').replace(/\/+$/, '')
}

/**
 * Where a stored image lives: the repository as the registry names it, or null when the stored name carries the
 * host of another registry (its images cannot be checked here, so its records are never removed).
 */
export function repositoryOf(config: DrcConfig, stored: string, fallback: string): null | string {
  const name = stored || fallback
  const bare = normalizeRepository(name)
  if (bare === name) return name
  const host = name.slice(0, name.length - bare.length - 1)
  return host === registryHost(config) ? bare : null
}

/**
 * A fresh tag listing of every repository (never a cached report). A listing that fails refuses the run (exit 3,
 * naming the registry): a missing answer is not an empty repository. A 404 is an unknown repository: listed as
 * empty and flagged, so the caller's empty-listing rule decides.
 */
export async function listRepositories(
  config: DrcConfig,
  repositories: Iterable<string>,
): Promise<Map<string, RepositoryListing>> {
  const client = await openRegistryClient(config)
  const out = new Map<string, RepositoryListing>()
  try {
    for (const repository of repositories) {
      try {
        // eslint-disable-next-line no-await-in-loop -- one repository at a time: a failure stops the rest
        out.set(repository, {tags: new Set(await client.listTags(repository)), unknown: false})
      } catch (error) {
        if (error instanceof NotFoundError) {
          out.set(repository, {tags: new Set(), unknown: true})
          continue
        }

        throw new DrcError(
          `refused, nothing was removed: cannot list the tags of ${repository} on registry ${registryHost(config)}: ${errorMessage(error)}`,
          {
            cause: error,
            exitCode: ExitCode.PREFLIGHT_REFUSED,
            suggestions: [
              'a failed listing never means the images are missing: check registry.url (REGISTRY_URL) and the registry credentials',
              'run `drc health` to see whether the registry answers',
            ],
          },
        )
      }
    }
  } finally {
    await client.close()
  }

  return out
}

/**
 * Whether a model slug tag stored in MongoDB is in the registry: MongoDB keeps the full tag or its `<modelId>-vN`
 * prefix, so a registry tag that extends the stored one (or that the stored one extends) counts as present.
 */
export function modelTagPresent(tags: ReadonlySet<string>, stored: string): boolean {
  if (tags.has(stored)) return true
  for (const t of tags) if (t.startsWith(`${stored}-`) || stored.startsWith(`${t}-`)) return true
  return false
}
