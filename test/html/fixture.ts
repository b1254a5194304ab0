import type {HtmlSource} from '../../packages/core/src/html/index.js'
/** Report inputs for the HTML tests and the bench: a `drc reports`-like source and deletion reports. */
import type {DeletionReport} from '../../packages/core/src/lifecycle/phases/audit.js'
import type {ImageEntry} from '../../packages/core/src/reports/image-analysis.js'

export const XSS_TAG = '<script>alert(1)</script>'
export const XSS_ATTR = '"onmouseover="window.__xss=1;alert(1)'
/** Would set window.__xss if it ever ran as markup. */
export const XSS_IMG = '<img src=x onerror="window.__xss=1">'

const hex = (n: number, width = 24): string => n.toString(16).padStart(width, '0')

export function images(count: number, hostile = true): ImageEntry[] {
  const out: ImageEntry[] = []
  for (let i = 0; i < count; i++) {
    const repository = i % 3 === 2 ? 'acme/model' : 'acme/environment'
    const tag =
      hostile && i === 0 ? `${hex(i)}-1${XSS_TAG}` : hostile && i === 1 ? XSS_ATTR : `${hex(i)}-${(i % 7) + 1}`
    out.push({
      digest: `sha256:${hex(i, 64)}`,
      kind: 'image',
      layers: 5 + (i % 4),
      repository,
      shared_bytes: 1000 * (i % 11),
      tags: [tag],
      total_bytes: 5_000_000 + 7919 * i,
      unique_bytes: 3_000_000 - 13 * i,
    })
  }

  return out
}

export function source(count = 12, hostile = true): HtmlSource {
  const imgs = images(count, hostile)
  return {
    generated_at: '2026-01-15T14:30:00.000Z',
    images: imgs,
    usage: {
      repositories: [
        {
          image_type: 'environment',
          repository: 'acme/environment',
          tags: 40,
          unknown: {bytes: 1_234_567, tags: 3},
          unused: {bytes: 987_654_321, freed_bytes: 876_543_210, kept_by_other_tags: 1, tags: 17},
          used: {bytes: 2_345_678_901, tags: 20},
        },
        {
          image_type: 'model',
          repository: 'acme/model',
          tags: 9,
          unknown: {bytes: 0, tags: 0},
          unused: {bytes: 55_555_555, freed_bytes: 44_444_444, kept_by_other_tags: 0, tags: 4},
          used: {bytes: 666_666_666, tags: 5},
        },
      ],
      top_users: [
        {
          distinct_bytes: 900_000_000,
          freed_bytes: 300_000_000,
          images: 12,
          login_id: 'alice',
          owner: 'alice',
          tags: 14,
          total_bytes: 1_000_000_000,
          user_id: hex(1),
          user_name: 'Alice',
        },
        {
          distinct_bytes: 500_000_000,
          freed_bytes: 450_000_000,
          images: 4,
          login_id: XSS_IMG,
          owner: XSS_IMG,
          tags: 4,
          total_bytes: 600_000_000,
          user_id: hex(2),
          user_name: XSS_ATTR,
        },
      ],
      total: {
        tags: 49,
        unknown: {bytes: 1_234_567, tags: 3},
        unused: {bytes: 1_043_209_876, freed_bytes: 920_987_654, kept_by_other_tags: 1, tags: 21},
        used: {bytes: 3_012_345_567, tags: 25},
      },
    },
  }
}

const item = (i: number, evidence: string) => ({
  digest: `sha256:${hex(i, 64)}`,
  evidence: [evidence],
  parents: [],
  repository: 'acme/environment',
  tags: [`${hex(i)}-1`],
})

export function deletionReport(strategy: string, apply: boolean, hostile = true): DeletionReport {
  const planned = [
    item(1, hostile ? `environment named ${XSS_TAG} archived` : 'environment archived'),
    item(2, 'archived'),
  ]
  const inUse = [{...item(3, 'archived'), inUseAtPlan: 'run in project p1'}]
  return {
    analysis_report: null,
    apply,
    backed_up: [],
    backup_failed: [],
    counts: {
      already_deleted: 0,
      backed_up: 0,
      deleted: apply ? 1 : 0,
      deleted_unverified: 0,
      failed: apply ? 1 : 0,
      in_use: 1,
      mongo_kept: 0,
      mongo_removed: 0,
      mongo_update_kept: 0,
      mongo_updated: 0,
      planned: 2,
      skipped: 2,
    },
    deleted: apply
      ? [{digest: planned[0].digest, repository: planned[0].repository, status: 'deleted', tags: planned[0].tags}]
      : [],
    deleted_unverified: [],
    error: null,
    exit_code: apply ? 4 : 0,
    failed: apply
      ? [
          {
            digest: planned[1].digest,
            reason: 'HTTP 500',
            repository: planned[1].repository,
            status: 'failed',
            tags: planned[1].tags,
          },
        ]
      : [],
    finished_at: '2026-01-15T14:31:00.000Z',
    gc: null,
    in_use: inUse,
    lock: apply ? 'relocked' : 'not needed',
    mongo_cleanup: null,
    mongo_updates: null,
    phase: 'audit',
    plan_id: null,
    planned,
    predicted_freed_bytes: 123_456_789,
    predicted_freed_bytes_deleted: apply ? 61_728_394 : 0,
    resume: null,
    skipped: [
      {
        digest: inUse[0].digest,
        reason: 'in use at planning: run in project p1',
        repository: 'acme/environment',
        tag: inUse[0].tags[0],
      },
      {
        reason: hostile ? `no digest for tag ${XSS_ATTR}` : 'no digest',
        repository: 'acme/environment',
        tag: hostile ? XSS_ATTR : 'x',
      },
    ],
    started_at: '2026-01-15T14:30:00.000Z',
    status: apply ? 'completed' : 'planned',
    strategy,
    warnings: [],
  }
}
