import {type Candidate, DeletionCommand, type MongoRecord, type PlanContext} from '@drc/core'
import {Flags} from '@oclif/core'

import {archivedEnvironments, archivedModels} from '../../archived.js'

/**
 * What --mongo-cleanup may remove once the image is gone: the revision (version) and the archived environment
 * (model); the core keeps an environment while a revision remains, a model while a version remains.
 */
function mongoRecords(kind: 'environment' | 'model', objectId: string, recordId: null | string): MongoRecord[] {
  const [child, parent] =
    kind === 'model' ? (['model_versions', 'models'] as const) : (['environment_revisions', 'environments_v2'] as const)
  return [...(recordId ? [{collection: child, id: recordId}] : []), {collection: parent, id: objectId}]
}

export default class ArchivedDelete extends DeletionCommand<typeof ArchivedDelete> {
  static description = `Delete the images of archived environments (and, with --model, of archived models).

Dry run unless --apply. The plan is every image tag of every revision of an archived environment (with --model:
every slug image of an archived model). Archived things can still be used (runs, scheduled jobs, model versions),
so right before each delete the image's usage is read again from MongoDB: an image in use is kept, with the
reason in the report. A digest that another tag outside the plan also points at is kept too.
Exit codes: 0 done, 1 failed, 2 usage error, 3 preflight refused (nothing changed), 4 some items failed (or were deleted but could not be verified), 130 cancelled.`
  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --apply --backup',
    '<%= config.bin %> <%= command.id %> --model --apply --force --json',
  ]
  static flags = {
    model: Flags.boolean({description: 'Also delete the slug images of archived models.'}),
  }
  static summary = 'Delete the images of archived environments (with --model, of archived models).'

  async plan({db}: PlanContext): Promise<Candidate[]> {
    const objects = [...(await archivedEnvironments(db)), ...(this.flags.model ? await archivedModels(db) : [])]
    return objects.flatMap((o) =>
      o.images.map((image) => ({
        mongo: mongoRecords(o.kind, o.id, image.recordId),
        reason: `${o.kind} ${o.id} archived`,
        repository: image.repository,
        tag: image.tag,
      })),
    )
  }
}
