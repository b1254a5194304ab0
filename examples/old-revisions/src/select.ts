import type {UsageGraph} from '@drc/core'

/** An environment image whose tag matches the pattern and whose revision is older than the age limit. */
export interface AgedTag {
  /** When Domino created the revision (its ObjectId time), UTC. */
  createdAt: string
  environmentId: null | string
  repository: string
  revisionId: null | string
  tag: string
}

export interface TagAgeRule {
  now: Date
  olderThanDays: number
  /** A whole-tag glob: `*` any run of characters, `?` one character. */
  pattern: string
}

/** The glob as an anchored regular expression (every other character literal). */
export function tagPattern(glob: string): RegExp {
  let source = ''
  for (const ch of glob)
    source += ch === '*' ? '.*' : ch === '?' ? '.' : ch.replaceAll(/[$()+.[\\\]^{|}]/g, String.raw`\$&`)
  return new RegExp(`^${source}$`)
}

/**
 * Environment image tags MongoDB knows whose tag matches and whose revision was created more than
 * `olderThanDays` ago. The age is the revision's creation time: the registry's image config `created` is set by
 * the build tool (reproducible builds write 1970) and would cost one request per tag. A tag of unknown age is
 * not selected. Whether it is in use is not decided here: the core's plan and live re-check do that.
 */
export function agedTags(graph: UsageGraph, rule: TagAgeRule): AgedTag[] {
  const re = tagPattern(rule.pattern)
  const cutoff = rule.now.getTime() - rule.olderThanDays * 86_400_000
  const out: AgedTag[] = []
  for (const u of graph.all()) {
    if (u.imageType !== 'environment' || !u.createdAt || u.createdAt.getTime() >= cutoff || !re.test(u.tag)) continue
    out.push({
      createdAt: u.createdAt.toISOString(),
      environmentId: u.environmentId ?? null,
      repository: u.repository,
      revisionId: u.revisionId ?? null,
      tag: u.tag,
    })
  }

  return out.sort((a, b) => a.tag.localeCompare(b.tag))
}
