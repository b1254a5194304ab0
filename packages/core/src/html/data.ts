/**
 * What the HTML report shows, as one plain JSON document (embedded in the page and rendered there): built from
 * the `drc reports` result and the latest plan/audit reports of each strategy.
 */
import type {DeletionReport} from '../lifecycle/phases/audit.js'
import type {ImageEntry} from '../reports/image-analysis.js'
import type {TagStatus, TagUsageSummary} from '../usage/join.js'
import type {TagUsage} from '../usage/types.js'

/** Schema of the embedded document (bumped when a field changes meaning). */
export const HTML_DATA_VERSION = 1

export interface HtmlLink {
  href: string
  label: string
}

export interface HtmlImage {
  digest: string
  /** Bytes garbage collection frees if this image alone is deleted (layers shared with any other image excluded). */
  freed_bytes: number
  links: HtmlLink[]
  owner: null | string
  repository: string
  status: 'mixed' | 'not checked' | TagStatus
  tags: string[]
  total_bytes: number
}

export interface HtmlCandidate {
  digest: string
  evidence: string[]
  /** Null: deletable; else why it is kept (in use at planning). */
  kept: null | string
  repository: string
  tags: string[]
}

export interface HtmlStrategy {
  candidates: HtmlCandidate[]
  generated_at: string
  kind: 'audit' | 'plan'
  path: string
  predicted_freed_bytes: number
  strategy: string
}

export interface HtmlAudit {
  deleted: Array<{digest: string; repository: string; tags: string[]; unverified: boolean}>
  failed: Array<{digest: string; reason: string; repository: string; tags: string[]}>
  finished_at: string
  kept: Array<{digest: null | string; reason: string; repository: string; tag: string}>
  lock: string
  /** Bytes the registry's storage shrank by after GC, when something measured it; null: not measured. */
  measured_freed_bytes: null | number
  path: null | string
  /** What GC frees after the deletes that happened (from the plan's blob graph). */
  predicted_freed_bytes: number
  started_at: string
  status: string
  strategy: string
}

export interface HtmlReportData {
  audit: HtmlAudit | null
  domino_url: null | string
  generated_at: string
  images: HtmlImage[]
  owners: Array<{freed_bytes: number; images: number; links: HtmlLink[]; owner: string; stored_bytes: number}>
  registry: {
    repositories: Array<Record<TagStatus, {bytes: number; tags: number}> & {repository: string; tags: number}>
    total: Record<TagStatus, {bytes: number; tags: number}> & {tags: number}
  }
  schema_version: number
  strategies: HtmlStrategy[]
}

/** The part of the `drc reports` result the page needs. */
export interface HtmlSource {
  generated_at: string
  images: ImageEntry[]
  usage: Pick<TagUsageSummary, 'repositories' | 'top_users' | 'total'>
}

export interface HtmlOptions {
  /** `<DOMINO_URL>` for deep links (domain-spec §4.12); none when null. */
  dominoUrl?: null | string
  /** Usage of a registry tag, for each image's status, owner and links; without it they are "not checked". */
  lookup?: (repository: string, tag: string) => {status: TagStatus; usage?: TagUsage}
  now?: Date
  /** Largest images and owners listed (0: all). */
  top?: number
}

const base = (url: null | string | undefined): null | string => (url ? url.replace(/\/+$/, '') : null)

/** The predecessor's model version link: `/models/<modelId>/versions/<versionId>?ownerName=<login>`. */
function imageLinks(domino: null | string, usage: TagUsage | undefined): HtmlLink[] {
  if (!domino || !usage?.modelId || !usage.modelVersionId) return []
  const owner = usage.owner?.login ? `?ownerName=${encodeURIComponent(usage.owner.login)}` : ''
  const href = `${domino}/models/${encodeURIComponent(usage.modelId)}/versions/${encodeURIComponent(usage.modelVersionId)}${owner}`
  return [{href, label: 'model version'}]
}

function image(i: ImageEntry, opts: HtmlOptions, domino: null | string): HtmlImage {
  const looked = opts.lookup ? i.tags.map((t) => opts.lookup!(i.repository, t)) : []
  const statuses = new Set(looked.map((l) => l.status))
  const usage = looked.find((l) => l.usage)?.usage
  const owner = usage?.owner ? (usage.owner.login ?? usage.owner.name ?? usage.owner.id) : null
  return {
    digest: i.digest,
    freed_bytes: i.unique_bytes,
    links: imageLinks(domino, usage),
    owner,
    repository: i.repository,
    status: statuses.size === 0 ? 'not checked' : statuses.size === 1 ? [...statuses][0] : 'mixed',
    tags: i.tags,
    total_bytes: i.total_bytes,
  }
}

const part = (p: {bytes: number; tags: number}) => ({bytes: p.bytes, tags: p.tags})

const limit = <T>(rows: T[], top: number): T[] => (top > 0 ? rows.slice(0, top) : rows)

/** The page's document from the `drc reports` result, the strategy reports and the last audit. */
export function buildHtmlData(
  source: HtmlSource,
  strategies: HtmlStrategy[],
  audit: HtmlAudit | null,
  opts: HtmlOptions = {},
): HtmlReportData {
  const domino = base(opts.dominoUrl)
  const top = opts.top ?? 50
  const byFreed = [...source.images].sort((a, b) => b.unique_bytes - a.unique_bytes || b.total_bytes - a.total_bytes)
  return {
    audit,
    domino_url: domino,
    generated_at: (opts.now ?? new Date()).toISOString(),
    images: limit(byFreed, top).map((i) => image(i, opts, domino)),
    owners: limit(
      [...source.usage.top_users].sort((a, b) => b.freed_bytes - a.freed_bytes),
      top,
    ).map((o) => ({
      freed_bytes: o.freed_bytes,
      images: o.images,
      // The predecessor's user/organization link: `/u/<name>#environment`.
      links:
        domino && o.login_id
          ? [{href: `${domino}/u/${encodeURIComponent(o.login_id)}#environment`, label: 'user'}]
          : [],
      owner: o.owner,
      stored_bytes: o.distinct_bytes,
    })),
    registry: {
      repositories: source.usage.repositories.map((r) => ({
        repository: r.repository,
        tags: r.tags,
        unknown: part(r.unknown),
        unused: part(r.unused),
        used: part(r.used),
      })),
      total: {
        tags: source.usage.total.tags,
        unknown: part(source.usage.total.unknown),
        unused: part(source.usage.total.unused),
        used: part(source.usage.total.used),
      },
    },
    schema_version: HTML_DATA_VERSION,
    strategies,
  }
}

/** A plan or audit report as the page's strategy section: every planned revision, and the in-use ones kept. */
export function strategyFromReport(report: DeletionReport, path: string, generatedAt: string): HtmlStrategy {
  return {
    candidates: [
      ...report.planned.map((p) => ({
        digest: p.digest,
        evidence: p.evidence,
        kept: null,
        repository: p.repository,
        tags: p.tags,
      })),
      ...report.in_use.map((p) => ({
        digest: p.digest,
        evidence: p.evidence,
        kept: `in use at planning: ${p.inUseAtPlan ?? ''}`,
        repository: p.repository,
        tags: p.tags,
      })),
    ],
    generated_at: generatedAt,
    kind: report.apply ? 'audit' : 'plan',
    path,
    predicted_freed_bytes: report.predicted_freed_bytes,
    strategy: report.strategy,
  }
}

/** An audit report as the page's "last audit" section. */
export function auditFromReport(
  report: DeletionReport,
  path: null | string,
  measuredFreedBytes: null | number = null,
): HtmlAudit {
  return {
    deleted: [
      ...report.deleted.map((d) => ({digest: d.digest, repository: d.repository, tags: d.tags, unverified: false})),
      ...report.deleted_unverified.map((d) => ({
        digest: d.digest,
        repository: d.repository,
        tags: d.tags,
        unverified: true,
      })),
    ],
    failed: report.failed.map((f) => ({
      digest: f.digest,
      reason: f.reason ?? '',
      repository: f.repository,
      tags: f.tags,
    })),
    finished_at: report.finished_at,
    kept: report.skipped.map((s) => ({
      digest: s.digest ?? null,
      reason: s.reason ?? '',
      repository: s.repository,
      tag: 'tag' in s && s.tag ? s.tag : 'tags' in s ? s.tags.join(', ') : '',
    })),
    lock: report.lock,
    measured_freed_bytes: measuredFreedBytes,
    path,
    predicted_freed_bytes: report.predicted_freed_bytes_deleted,
    started_at: report.started_at,
    status: report.status,
    strategy: report.strategy,
  }
}
