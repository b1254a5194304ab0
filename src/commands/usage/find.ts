import {BaseCommand} from '@drc/core/lib/base-command.js'
import {connectUsageDb} from '@drc/core/reports/usage-report.js'
import {type EnvironmentUsage, findEnvironmentUsage} from '@drc/core/usage/find.js'
import {parseObjectId} from '@drc/core/usage/object-ids.js'
import {Args, Flags} from '@oclif/core'

export default class UsageFind extends BaseCommand<typeof UsageFind> {
  static args = {
    'environment-id': Args.string({description: 'Environment ObjectId (environments_v2._id).', required: true}),
  }
  static description = `Show everything that uses an environment and each of its revisions, with their image tags.

Read-only. Queries only what concerns this environment, with the same rules as the usage report.

Alias (the predecessor's name): drc find_environment_usage`
  static examples = [
    '<%= config.bin %> <%= command.id %> 68e64edfcaf3254005314c90',
    '<%= config.bin %> find_environment_usage 68e64edfcaf3254005314c90 --json',
  ]
  static flags = {
    'unused-since-days': Flags.integer({
      description: 'Run and workspace usage older than this many days no longer counts.',
      min: 1,
    }),
  }
  // The predecessor's name keeps working for scripts; hidden so help lists each command once.
  static hiddenAliases = ['find_environment_usage']
  static summary = 'Show everything that uses an environment and its revisions.'

  async run(): Promise<EnvironmentUsage> {
    const id = parseObjectId(this.args['environment-id'], 'environment id')
    const config = await this.loadDrcConfig()
    const {client, db} = await connectUsageDb(config)
    try {
      const rules = {
        gracePeriodDays: config.usage.grace_period_days,
        now: new Date(),
        unusedSinceDays: this.flags['unused-since-days'],
      }
      const result = await findEnvironmentUsage(db, id, rules)
      if (!this.jsonEnabled()) this.print(result)
      return result
    } finally {
      await client.close()
    }
  }

  private print(r: EnvironmentUsage): void {
    const e = r.environment
    this.log(`Environment ${e.id} ${e.name ? `"${e.name}"` : ''}`)
    this.log(
      `  visibility: ${e.visibility ?? '-'}  owner: ${e.ownerId ?? '-'}  archived: ${e.archived}  active revision: ${e.activeRevisionId ?? '-'}`,
    )
    this.log(`Revisions (${r.revisions.length}):`)
    for (const rev of r.revisions) {
      this.log(revisionLine(rev))
      for (const s of rev.usage?.sources.slice(0, 50) ?? []) this.log(sourceLine(s))
    }

    if (r.clones.length > 0) {
      this.log(`Cloned revisions (${r.clones.length}):`)
      for (const c of r.clones)
        this.log(`  ${c.revisionId} (environment ${c.environmentId ?? '-'}) cloned from ${c.clonedFrom}`)
    }
  }
}

type RevisionUsage = EnvironmentUsage['revisions'][number]

/** One revision: tag, build state and whether (and why) it is in use. */
function revisionLine(rev: RevisionUsage): string {
  const u = rev.usage
  const state = u ? (u.inUse ? 'IN USE' : 'unused') : rev.tag ? 'unused' : 'no image'
  const why = u ? `: ${u.reasons.join('; ') || u.summary}` : ''
  return `  ${rev.revisionId}  ${rev.tag ?? '-'}  ${rev.isBuilt ? '' : '(failed build) '}${state}${why}`
}

/** One thing that uses a revision. */
function sourceLine(s: NonNullable<RevisionUsage['usage']>['sources'][number]): string {
  const type = s.usageType ? ` (${s.usageType})` : ''
  const count = s.count ? ` ×${s.count}` : ''
  return `      ${s.kind}${type} ${s.id}${s.name ? ` "${s.name}"` : ''}${count}  last used: ${s.lastUsed ?? 'n/a'}`
}
