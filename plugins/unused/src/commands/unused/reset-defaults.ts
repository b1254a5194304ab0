import {
  hexOf,
  loadIdFilter,
  type MongoChange,
  MongoChangeCommand,
  type MongoChangeContext,
  type MongoChangeResult,
  undoFlags,
  UsageError,
} from '@drc/core'
import {parseIdList} from '@drc/core/usage/object-ids.js'
import {Flags} from '@oclif/core'
import {readFile} from 'node:fs/promises'

import {copyReport, mongoOnlyFlags} from '../../mongo-flags.js'
import {archivedEnvironments, type DefaultScope, planResetDefaults} from '../../reset-defaults.js'

export default class UnusedResetDefaults extends MongoChangeCommand<typeof UnusedResetDefaults> {
  static description = `Unset the default-environment fields that name archived environments (or those of --input); MongoDB only.

Dry run unless --apply. The fields (domain-spec §3.15): userPreferences.defaultEnvironmentId (--user), organizations.defaultV2EnvironmentId (--organization) and projects.overrideV2EnvironmentId (--project); none of the three flags means all three. Without --input the environments are every archived one (isArchived: true). Domino then falls back to the next default (organization, then global).

Unlike the predecessor, --apply asks for confirmation (unless --force) and saves every changed document whole (canonical Extended JSON) in the audit report before unsetting the field, only while it still names the environment. drc unused reset-defaults --undo <audit report> puts the saved documents back, except those changed since (refused, with the reason).
Exit codes: 0 done, 1 failed, 2 usage error, 4 some documents refused by --undo, 130 cancelled.

Alias (the predecessor's name): drc reset_default_environments`
  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --input environments.txt --user --apply',
    '<%= config.bin %> <%= command.id %> --undo reports/unused-reset-defaults-audit-latest.json --apply',
  ]
  static flags = {
    ...undoFlags,
    ...mongoOnlyFlags,
    input: Flags.string({
      description: 'Environment ids, one a line (bare, environment: or env:); other kinds are skipped with a warning.',
    }),
    organization: Flags.boolean({description: 'Reset organization defaults (organizations.defaultV2EnvironmentId).'}),
    project: Flags.boolean({description: 'Reset project defaults (projects.overrideV2EnvironmentId).'}),
    user: Flags.boolean({description: 'Reset user preference defaults (userPreferences.defaultEnvironmentId).'}),
  }
  // The predecessor's name keeps working for scripts; hidden so help lists each command once.
  static hiddenAliases = ['reset_default_environments']
  static summary = 'Unset the user, organization and project defaults naming archived environments.'

  async planChange({db, log}: MongoChangeContext): Promise<MongoChange> {
    const {input, organization, project, user} = this.flags
    const chosen = (['user', 'organization', 'project'] as DefaultScope[]).filter(
      (s) => ({organization, project, user})[s],
    )
    const scopes: DefaultScope[] = chosen.length > 0 ? chosen : ['user', 'organization', 'project']
    const warnings: string[] = []
    const environments = input ? await this.inputEnvironments(db, input, warnings) : await archivedEnvironments(db)
    log(`${environments.size} environments${input ? ` from ${input}` : ' archived'}; scopes: ${scopes.join(', ')}`)
    const plan = await planResetDefaults(db, environments, scopes, log)
    return {kept: [], removals: [], updates: plan.updates, warnings: [...warnings, ...plan.warnings]}
  }

  async run(): Promise<MongoChangeResult> {
    const result = await super.run()
    await copyReport(result.report_path, this.flags.output)
    return result
  }

  /** The environment ids of --input with their names (an id MongoDB does not know is still reset, name unknown). */
  private async inputEnvironments(
    db: MongoChangeContext['db'],
    file: string,
    warnings: string[],
  ): Promise<Map<string, null | string>> {
    const text = await readFile(file, 'utf8').catch((error: unknown) => {
      throw new UsageError(`cannot read ${file}: ${(error as Error).message}`, ['check the path'])
    })
    const {ids, problems} = parseIdList(text, {bareKind: 'environment'})
    if (problems.length > 0)
      throw new UsageError(
        `${problems.length} invalid line(s) in ${file}, nothing was done:\n${problems.map((p) => `${file}:${p.line}: ${p.message}`).join('\n')}`,
        ['fix or remove the lines listed above; comments start with #'],
      )
    for (const [kind, list] of Object.entries(ids))
      if (kind !== 'environment' && list.length > 0)
        warnings.push(`${file}: ${list.length} ${kind} id(s) skipped: only environment ids name a default`)
    const out = new Map<string, null | string>((ids.environment ?? []).map((id) => [id, null]))
    const idf = await loadIdFilter()
    if (out.size > 0)
      for await (const e of db.collection('environments_v2').find(idf('_id', out.keys()), {projection: {name: 1}}))
        if (typeof e.name === 'string' && hexOf(e._id)) out.set(hexOf(e._id)!, e.name)
    return out
  }
}
