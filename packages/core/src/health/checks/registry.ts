import type {DrcConfig} from '../../config/types.js'
import type {HealthCheck} from '../types.js'

import {errorMessage} from '../../lib/errors.js'

/**
 * The repositories whose tags prove access: registry.scan_repositories when set, else the configured
 * repository if it names one (contains '/'), else `<repo>/environment` and `<repo>/model`.
 */
export function probeRepositories(config: Pick<DrcConfig, 'registry'>): string[] {
  const {repository, scan_repositories: scan} = config.registry
  if (scan.length > 0) return scan
  return repository.includes('/') ? [repository] : [`${repository}/environment`, `${repository}/model`]
}

export const registryCheck: HealthCheck = {
  name: 'registry',
  optional: false,
  required: true,
  async run(ctx) {
    const registry = await ctx.registry()
    const details: Record<string, unknown> = {registry_url: registry.baseUrl}
    try {
      await registry.ping()
    } catch (error) {
      const {status} = error as {status?: number}
      const suggestions = (error as {suggestions?: string[]}).suggestions ?? []
      const refused = status === 401 || status === 403
      return {
        details: {...details, status},
        message: refused
          ? `Registry ${registry.baseUrl}: ${errorMessage(error)}`
          : `Cannot reach registry ${registry.baseUrl}: ${errorMessage(error)}`,
        status: 'unhealthy',
        suggestions: refused
          ? suggestions
          : [
              'check registry.url (REGISTRY_URL, --registry-url), including http:// or https://, and that the registry is running',
              ...suggestions,
            ],
      }
    }

    const repos = probeRepositories(ctx.config)
    const counts: Record<string, number | string> = {}
    const failures: string[] = []
    await Promise.all(
      repos.map(async (repo) => {
        try {
          counts[repo] = (await registry.listTags(repo)).length
        } catch (error) {
          counts[repo] = `error: ${errorMessage(error)}`
          failures.push(`${repo}: ${errorMessage(error)}`)
        }
      }),
    )
    details.repositories = counts
    const total = Object.values(counts).reduce<number>((sum, n) => sum + (typeof n === 'number' ? n : 0), 0)
    details.tags_count = total
    if (failures.length > 0)
      return {
        details,
        message: `Registry ${registry.baseUrl} answered, but listing tags failed: ${failures.join('; ')}`,
        status: 'unhealthy',
      }
    if (total === 0)
      return {
        details,
        message: `Connected to registry ${registry.baseUrl}, but found 0 tags in ${repos.join(', ')}. This may indicate an authentication problem (anonymous access sees no repositories) or a wrong repository name`,
        status: 'unhealthy',
        suggestions: [
          'check registry.repository (REPOSITORY, --repository): images live in <repository>/environment and <repository>/model',
          'check registry.username / registry.password (REGISTRY_USERNAME / REGISTRY_PASSWORD) or registry.auth_secret',
        ],
      }
    const summary = repos.map((r) => `${r} (${counts[r]})`).join(', ')
    return {
      details,
      message: `Successfully connected to registry ${registry.baseUrl}: ${total} tags in ${summary}`,
      status: 'healthy',
    }
  },
}
