import {type MongoChange, MongoChangeCommand, type MongoChangeContext, type MongoRecordCollection} from '@drc/core'
import {Flags} from '@oclif/core'

import {planListed} from '../../listed.js'

export default class MongoCleanup extends MongoChangeCommand<typeof MongoCleanup> {
  static description = `Remove the MongoDB documents whose ObjectIds a file lists, from one collection.

Dry run unless --apply (which asks, unless --force). The file has one id per line: a bare id, or one with the collection's type prefix (environmentRevision:, environment:, modelVersion:, model:); # starts a comment; any bad line refuses the whole file. An id not in the collection is reported and skipped; an environment's active revision stays; the clean-up guards apply (a revision a non-archived model's version runs on stays; an environment or model stays while its revisions or versions remain). Each removed document is saved whole in the audit report: drc mongo restore <audit report> puts it back.

Exit codes: 0 done, 1 failed, 2 usage error (bad file), 130 cancelled.

Alias (the predecessor's name): drc mongo_cleanup`
  static examples = [
    '<%= config.bin %> <%= command.id %> --file revisions.txt',
    '<%= config.bin %> <%= command.id %> --file versions.txt --collection model_versions --apply',
    '<%= config.bin %> mongo_cleanup --file revisions.txt --apply --force',
  ]
  static flags = {
    collection: Flags.string({
      default: 'environment_revisions',
      description: 'The collection to remove from.',
      options: ['environment_revisions', 'environments_v2', 'model_versions', 'models'],
    }),
    file: Flags.string({description: 'File of ObjectIds, one per line.', required: true}),
  }
  // The predecessor's name keeps working for scripts; hidden so help lists each command once.
  static hiddenAliases = ['mongo_cleanup']
  static summary = 'Remove the MongoDB documents listed in an ObjectId file.'

  async planChange({db}: MongoChangeContext): Promise<MongoChange> {
    return planListed(db, this.flags.file, this.flags.collection as MongoRecordCollection)
  }
}
