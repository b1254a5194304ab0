import {Flags} from '@oclif/core'
import {type Candidate, DeletionCommand, type PlanContext} from 'drc'

import {archivedEnvironments, archivedModels} from '../../archived.js'

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

  async plan({db}: PlanContext): Promise<Candidate[]> {
    const objects = [...(await archivedEnvironments(db)), ...(this.flags.model ? await archivedModels(db) : [])]
    return objects.flatMap((o) =>
      o.images.map((image) => ({
        mongo: {collection: o.kind === 'model' ? 'models' : 'environments_v2', id: o.id},
        reason: `${o.kind} ${o.id} archived`,
        repository: image.repository,
        tag: image.tag,
      })),
    )
  }
}
