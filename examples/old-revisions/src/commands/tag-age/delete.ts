import {buildUsageGraph, type Candidate, DeletionCommand, type PlanContext, UsageError} from '@drc/core'

import {tagAgeFlags} from '../../flags.js'
import {agedTags} from '../../select.js'

/**
 * A third-party strategy: it only says which tags it proposes and why. Everything else (dry run, preflight,
 * confirmation, backup, unlock, the live usage re-check, the digest guard, delete, verify, re-lock, audit
 * report, --json, --resume, --mongo-cleanup) is DeletionCommand's.
 */
export default class TagAgeDelete extends DeletionCommand<typeof TagAgeDelete> {
  static description = `Delete environment images whose tag matches a glob and whose revision is older than N days.

Dry run unless --apply. The age is the revision's creation time in MongoDB. The drc core keeps every image in use (runs, workspaces, defaults, pins, the active revision, the grace period), a revision a kept one was cloned from, and a digest another tag shares; it re-checks usage right before each delete.`
  static examples = ['<%= config.bin %> <%= command.id %> --pattern "*-1" --older-than-days 180']
  static flags = {...tagAgeFlags}
  static summary = 'Delete environment images by tag pattern and age (example plugin).'

  async plan({db, log}: PlanContext): Promise<Candidate[]> {
    const {'older-than-days': olderThanDays, pattern} = this.flags
    // Checked here, not as required flags, so the core's own checks (configuration) run and report first.
    if (pattern === undefined || olderThanDays === undefined)
      throw new UsageError('--pattern and --older-than-days are required', [
        'e.g. drc tag-age delete --pattern "*" --older-than-days 180',
      ])
    const tags = agedTags(await buildUsageGraph(db), {now: new Date(), olderThanDays, pattern})
    log(`${tags.length} environment tags match "${pattern}" and are older than ${olderThanDays} days`)
    return tags.map((t) => ({
      mongo: t.revisionId ? [{collection: 'environment_revisions' as const, id: t.revisionId}] : [],
      reason: `tag matches "${pattern}", revision created ${t.createdAt} (older than ${olderThanDays} days)`,
      repository: t.repository,
      tag: t.tag,
    }))
  }
}
