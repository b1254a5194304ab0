import {
  archiveEnvironmentUpdate,
  type MongoChange,
  MongoChangeCommand,
  type MongoChangeContext,
  type MongoChangeResult,
  undoFlags,
} from '@drc/core'
import {Flags} from '@oclif/core'

import {copyReport, mongoOnlyFlags} from '../../mongo-flags.js'
import {findUnusedEnvironments} from '../../unused.js'

export default class UnusedArchive extends MongoChangeCommand<typeof UnusedArchive> {
  static description = `Archive (isArchived: true) the non-archived environments that nothing uses; MongoDB only, no image is touched.

Dry run unless --apply. The environments are those drc unused delete would empty (the same rule: no project default or pin, scheduler job, organization default, user preference, app version of a non-archived product, model version, existing workspace, session or run uses any of its revisions; with --unused-since-days N runs and sessions older than N days no longer count; unknown age and images inside usage.grace_period_days count as in use). Archived environments can no longer be selected in Domino; their images are then the archived strategy's (drc archived delete).

Each environment is saved whole (canonical Extended JSON) in the audit report before it is changed, and changed only while it is still not archived. drc unused archive --undo <audit report> puts the saved documents back, except those changed since (refused, with the reason).
Exit codes: 0 done, 1 failed, 2 usage error, 4 some documents refused by --undo, 130 cancelled.

Alias (the predecessor's name): drc archive_unused_environments`
  static examples = [
    '<%= config.bin %> <%= command.id %> --unused-since-days 90',
    '<%= config.bin %> <%= command.id %> --unused-since-days 90 --apply',
    '<%= config.bin %> <%= command.id %> --undo reports/unused-archive-audit-latest.json --apply',
  ]
  static flags = {
    ...undoFlags,
    ...mongoOnlyFlags,
    'unused-since-days': Flags.integer({
      description: 'Run and session usage older than this many days no longer keeps an environment.',
      min: 0,
    }),
  }
  // The predecessor's name keeps working for scripts; hidden so help lists each command once.
  static hiddenAliases = ['archive_unused_environments']
  static summary = 'Archive the environments that nothing uses (MongoDB only, undoable).'

  async planChange({config, db, log}: MongoChangeContext): Promise<MongoChange> {
    const found = await findUnusedEnvironments(db, {
      gracePeriodDays: config.usage.grace_period_days,
      now: new Date(),
      unusedSinceDays: this.flags['unused-since-days'],
    })
    log(`${found.unused.length} of ${found.checked} non-archived environments are unused`)
    return {
      kept: found.inUse.map((e) => ({collection: 'environments_v2', id: e.environmentId, reason: e.reason})),
      removals: [],
      updates: found.unused.map((e) => archiveEnvironmentUpdate(e.environmentId, e.evidence)),
    }
  }

  async run(): Promise<MongoChangeResult> {
    const result = await super.run()
    await copyReport(result.report_path, this.flags.output)
    return result
  }
}
