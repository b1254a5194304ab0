import {
  type Candidate,
  DeletionCommand,
  type DeletionFlags,
  type DeletionResult,
  type PlanContext,
  readIdFile,
  UsageError,
} from '@drc/core'
import {predecessorConfig, predecessorFlags} from '@drc/core'
import {Flags} from '@oclif/core'

import {readEnvironmentImages} from '../../environments.js'
import {oldRevisionCandidates, revisionHistory} from '../../old-revisions.js'

export default class UnusedOldRevisions extends DeletionCommand<typeof UnusedOldRevisions> {
  static description = `Delete the images of environment revisions older than the newest N built revisions of their environment.

Dry run unless --apply. Revisions are ordered by revision number (the tag's -<n> suffix, else the revision's number field); an environment where some revision has neither is ordered by creation (ObjectId order). Failed builds do not count among the newest N.

Older revisions are kept when the core's usage rule says they are in use, without a date filter: the active revision, a revision pinned by SomeRevision(<id>), one a run (of any age), workspace, model version, scheduler job or default uses, and one younger than usage.grace_period_days. A revision a kept revision was cloned from, and a digest another tag outside the plan points at, are kept too. Every kept candidate is listed with its reason. Right before each delete the image's usage is read again from MongoDB. With --mongo-cleanup the deleted revisions' records go too (guarded; saved for drc mongo restore); environments are never removed.
Exit codes: 0 done, 1 failed, 2 usage error, 3 preflight refused (nothing changed), 4 some items failed, 130 cancelled.

Alias (the predecessor's name): drc delete_old_revisions (--keep-revisions N, --input FILE of environment ids)`
  static examples = [
    '<%= config.bin %> <%= command.id %> --keep 3',
    '<%= config.bin %> <%= command.id %> --keep 5 --apply --backup --mongo-cleanup',
    '<%= config.bin %> delete_old_revisions --keep-revisions 5 --input environments.txt',
  ]
  static flags = {
    ...predecessorFlags,
    input: Flags.string({
      description:
        'Only these environments: a file with one environment id per line (bare or environment:<id>, # comments).',
      helpGroup: 'DELETION',
    }),
    keep: Flags.integer({
      aliases: ['keep-revisions'],
      default: 5,
      description: 'Newest built revisions to keep per environment (at least 1; --keep-revisions is accepted).',
      min: 1,
    }),
  }
  static hiddenAliases = ['delete_old_revisions']
  static summary = 'Delete environment revision images older than the newest N of their environment.'

  protected configFlags(): Record<string, unknown> {
    return predecessorConfig(this.flags)
  }

  async plan({db, log}: PlanContext): Promise<Candidate[]> {
    const only = this.flags.input
      ? new Set((await readIdFile(this.flags.input, {bareKind: 'environment', kinds: ['environment']})).environment)
      : undefined
    const histories = (await readEnvironmentImages(db, only)).map((e) => revisionHistory(e))
    const candidates = oldRevisionCandidates(histories, this.flags.keep)
    const byCreation = histories.filter((h) => h.order === 'creation order' && h.revisions.length > this.flags.keep)
    log(
      `${candidates.length} revisions older than the newest ${this.flags.keep} in ${histories.length} environments` +
        (byCreation.length > 0 ? ` (${byCreation.length} ordered by creation: some revisions have no number)` : ''),
    )
    return candidates
  }

  async run(): Promise<DeletionResult> {
    // The predecessor's rule has no date filter: a run of any age keeps a revision (domain-spec §3.11).
    if ((this.flags as unknown as Partial<DeletionFlags>)['unused-since-days'] !== undefined)
      throw new UsageError('--unused-since-days does not apply to old revisions: any run keeps its revision', [
        'run it without --unused-since-days',
      ])
    return super.run()
  }
}
