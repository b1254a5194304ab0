import type {TagUsage, UsageSource} from '../types.js'
import type {EnvInfo, RevInfo} from './environments.js'

import {objectIdTime, type RevisionSpec} from '../tags.js'
import {owner} from './owners.js'

/** Prefix of what resolve() returns for "every revision of this environment" (see resolve). */
const EVERY_REVISION = 'every-revision-of:'

/**
 * One TagUsage per environment revision tag, and the one place a source is attached to a revision's tag
 * (deduplicated) or a revision spec is resolved against its environment.
 */
export class EnvironmentTagIndex {
  /** Keyed by tag. */
  readonly tags = new Map<string, TagUsage>()
  private readonly byEnvironment = new Map<string, TagUsage[]>()
  private readonly byRevision = new Map<string, TagUsage>()
  private readonly seen = new Set<string>()

  constructor(
    private readonly envs: Map<string, EnvInfo>,
    revs: Map<string, RevInfo>,
  ) {
    for (const [revId, r] of revs) {
      if (!r.tag) continue
      const env = r.environmentId ? envs.get(r.environmentId) : undefined
      let u = this.tags.get(r.tag)
      if (!u) {
        u = {
          archived: env?.archived ?? false,
          createdAt: objectIdTime(revId),
          environmentId: r.environmentId ?? undefined,
          imageType: 'environment',
          matchKey: r.tag,
          name: env?.name,
          // The environment's owner owns its images (user-size, domain-spec §3.4); the author only when it is gone.
          owner: owner(env?.ownerId ?? r.authorId),
          repository: r.repository,
          revisionId: revId,
          sources: [],
          tag: r.tag,
        }
        this.tags.set(r.tag, u)
      }

      this.byRevision.set(revId, u)
      if (r.environmentId)
        this.byEnvironment.set(r.environmentId, [...(this.byEnvironment.get(r.environmentId) ?? []), u])
    }
  }

  /** The active revision of an environment (null when the environment is unknown or has none). */
  active(envId: null | string): null | string {
    return this.resolve(envId, {kind: 'active'})
  }

  /** Attaches `source` to the tag of revision `revId` (unknown revisions are not ours: ignored). */
  add(revId: null | string, source: UsageSource): void {
    if (!revId) return
    if (revId.startsWith(EVERY_REVISION)) {
      for (const u of this.byEnvironment.get(revId.slice(EVERY_REVISION.length)) ?? []) this.attach(u, source)
      return
    }

    const u = this.byRevision.get(revId)
    if (u) this.attach(u, source)
  }

  resolve(envId: null | string, spec: RevisionSpec): null | string {
    if (spec.kind === 'some') return spec.revisionId
    if (!envId) return null
    const env = this.envs.get(envId)
    // An unknown spec falls back to the active revision: protecting it is the conservative reading. An environment
    // without an active revision cannot say which revision "active" means, so every revision of it is protected.
    if (env && !env.activeRevisionId) return `${EVERY_REVISION}${envId}`
    return env?.activeRevisionId ?? null
  }

  private attach(u: TagUsage, source: UsageSource): void {
    // A workspace is listed once per tag and usage type; other sources once per tag.
    const key = `${u.tag}|${source.kind}|${source.id}|${source.usageType ?? ''}`
    if (this.seen.has(key)) return
    this.seen.add(key)
    u.sources.push(source)
  }
}
