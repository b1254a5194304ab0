import {
  inputFlag,
  type MongoChange,
  MongoChangeCommand,
  type MongoChangeContext,
  type MongoRecordCollection,
  namesRecord,
  type PlannedRemoval,
  readPlanInput,
} from '@drc/core'
import {Flags} from '@oclif/core'

import {type DocumentRefs, planMissing, recheckMissing} from '../../missing.js'

export default class ReferencesDelete extends MongoChangeCommand<typeof ReferencesDelete> {
  static description = `Remove the MongoDB records whose image is not in the registry (environment revisions and model versions).

Dry run unless --apply. Compares every image reference of environment_revisions and model_versions with a fresh tag listing of the registry (never a cached report). A record goes only when every image it names is missing; it stays when it is an environment's active revision, when the usage rules say it is in use (runs counted over the grace period usage.grace_period_days, configuration usage always), or when its image is on another registry. Right before the removal the registry is listed again; each removed document is saved whole in the audit report: drc mongo restore <audit report> puts it back.

Refused (exit 3, nothing removed): a listing that fails; a repository MongoDB names that the registry lists as empty or does not know; a repository with more than --max-missing-percent of its references missing. Name a repository with --allow-missing-repository when its images are really gone.

--input narrows the removals to the records a file names by id: an ObjectId file (environment_revision:<id>, model_version:<id>), a drc plan report or the predecessor's unused-references.json.

Exit codes: 0 done, 1 failed, 2 usage error, 3 refused (nothing changed), 130 cancelled.

Alias (the predecessor's name): drc delete_unused_references`
  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --apply --force --json',
    '<%= config.bin %> delete_unused_references --registry-url registry.example:5000 --apply',
  ]
  static flags = {
    'allow-missing-repository': Flags.string({
      description: 'This repository is really gone: accept its empty listing and its missing share (repeatable).',
      multiple: true,
    }),
    collection: Flags.string({
      description: 'Only this collection.',
      options: ['environment_revisions', 'model_versions'],
    }),
    input: inputFlag,
    'max-missing-percent': Flags.integer({
      default: 50,
      description: 'Refuse when more than this share of a repository’s references is missing from the registry.',
      max: 100,
      min: 0,
    }),
    'registry-url': Flags.string({description: 'Registry host[:port] (registry.url).'}),
    repository: Flags.string({description: 'Base repository (registry.repository).'}),
  }
  // The predecessor's name keeps working for scripts; hidden so help lists each command once.
  static hiddenAliases = ['delete_unused_references']
  static summary = 'Remove the MongoDB records whose image is not in the registry.'
  private docs = new Map<string, DocumentRefs>()

  protected configFlags(): Record<string, unknown> {
    return {'registry.repository': this.flags.repository, 'registry.url': this.flags['registry-url']}
  }

  async planChange({config, db, log}: MongoChangeContext): Promise<MongoChange> {
    const input = this.flags.input ? await readPlanInput(this.flags.input) : null
    const {docs, ...change} = await planMissing(db, config, {
      allowMissingRepositories: this.flags['allow-missing-repository'] ?? [],
      maxMissingPercent: this.flags['max-missing-percent'],
      now: new Date(),
      only: this.flags.collection as MongoRecordCollection | undefined,
    })
    this.docs = docs
    if (!input) return change
    // --input only narrows: a record it names is removed only when this run finds its image missing too.
    const removals = change.removals.filter((r) => namesRecord(input, r))
    log(`--input ${input.file}: ${removals.length} of ${change.removals.length} records with a missing image named`)
    return {...change, removals}
  }

  async recheck({config}: MongoChangeContext, removals: PlannedRemoval[]): Promise<Map<string, string>> {
    return recheckMissing(config, this.docs, removals)
  }
}
