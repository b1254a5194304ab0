import {type Candidate, DeletionCommand, type DeletionFlags, type PlanContext} from '@drc/core'
import {
  archiveEnvironmentUpdate,
  archiveFlag,
  inputFlag,
  narrowToInput,
  predecessorConfig,
  predecessorFlags,
  readPlanInput,
} from '@drc/core'

import {findUnusedEnvironments, type UnusedEnvironment} from '../../unused.js'

/** --archive: once every image of the environment is gone, `isArchived: true` (only while it is still false). */
const archiveUpdate = (e: UnusedEnvironment) =>
  archiveEnvironmentUpdate(
    e.environmentId,
    `--archive: every image of unused environment "${e.name ?? e.environmentId}" deleted`,
  )

/**
 * Every revision image of an unused environment; --mongo-cleanup may then remove the revision and environment,
 * --archive (opts.archive) archive the environment once all its images are gone.
 */
export function environmentCandidates(envs: UnusedEnvironment[], opts: {archive?: boolean} = {}): Candidate[] {
  return envs.flatMap((e) =>
    e.revisions
      .filter((r) => r.built)
      .map((r) => ({
        mongo: [
          {collection: 'environment_revisions' as const, id: r.revisionId},
          {collection: 'environments_v2' as const, id: e.environmentId},
        ],
        ...(opts.archive ? {mongoUpdates: [archiveUpdate(e)]} : {}),
        reason: `${e.evidence}${r.revisionId === e.activeRevisionId ? ' (its active revision)' : ''}`,
        repository: r.repository,
        tag: r.tag!,
      })),
  )
}

export default class UnusedDelete extends DeletionCommand<typeof UnusedDelete> {
  // Whole environments: the active revision mark alone keeps nothing, at planning and at the re-check alike.
  static activeRevisionKeeps = false
  static description = `Delete every image of the non-archived environments that nothing uses, active revision included.

Dry run unless --apply. An environment is unused when no project default or pin, scheduler job, organization default, user preference, app version of a non-archived product, model version, existing workspace (whatever its state), workspace session or run uses any of its revisions. With --unused-since-days N, runs and sessions older than N days no longer count; usage of unknown age counts as in use, and images younger than usage.grace_period_days are in use. Archived environments are left to drc archived delete; per-revision clean-up is drc unused old-revisions.

Right before each delete the image's usage is read again from MongoDB; a digest another tag outside the plan points at, and a revision a kept revision was cloned from, are kept. Deleting an environment's images does not remove it from Domino: users could still select it unless --mongo-cleanup removes its records or --archive archives it (isArchived: true, once every one of its images is deleted; the previous documents are saved: drc mongo restore <audit report> undoes it; an environment the clean-up removed is not archived).

--input narrows the plan to what a file names: an ObjectId file, a drc plan report or the predecessor's unused-environments.json; what is no candidate now is never planned.
Exit codes: 0 done, 1 failed, 2 usage error, 3 preflight refused (nothing changed), 4 some items failed, 130 cancelled.

Alias (the predecessor's name): drc delete_unused_environments`
  static examples = [
    '<%= config.bin %> <%= command.id %> --unused-since-days 90',
    '<%= config.bin %> <%= command.id %> --unused-since-days 90 --apply --backup --mongo-cleanup',
  ]
  static flags = {
    ...predecessorFlags,
    archive: archiveFlag,
    input: inputFlag,
  }
  static hiddenAliases = ['delete_unused_environments']
  static summary = 'Delete every image of unused non-archived environments, the active one included.'

  protected configFlags(): Record<string, unknown> {
    return predecessorConfig(this.flags)
  }

  async plan({config, db, log}: PlanContext): Promise<Candidate[]> {
    // The lifecycle flags are the base class's (typed there, not in this command's flags).
    const lifecycle = this.flags as unknown as Partial<DeletionFlags>
    const rules = {
      gracePeriodDays: config.usage.grace_period_days,
      now: new Date(),
      unusedSinceDays: lifecycle['unused-since-days'],
    }
    const input = this.flags.input ? await readPlanInput(this.flags.input) : null
    const found = await findUnusedEnvironments(db, rules)
    const losing = found.unused.filter((e) => e.revisions.some((r) => r.built && r.revisionId === e.activeRevisionId))
    log(`${found.unused.length} of ${found.checked} non-archived environments are unused`)
    if (losing.length > 0 && !lifecycle['mongo-cleanup'] && !this.flags.archive)
      log(
        `${losing.length} unused environments have their active revision's image among the candidates: once it ` +
          'is deleted, Domino users could still select them (and their runs would fail to pull) unless ' +
          '--mongo-cleanup removes their records or --archive archives them',
      )
    if (this.flags.archive && !lifecycle.apply)
      log(`--archive: with --apply, each of these environments is archived once all its images are deleted`)
    const candidates = environmentCandidates(found.unused, {archive: this.flags.archive})
    return input ? narrowToInput(candidates, input, log) : candidates
  }
}
