import {
  type Candidate,
  DeletionCommand,
  inputFlag,
  inputKinds,
  type MongoRecord,
  namesCandidate,
  openRegistryClient,
  type PlanContext,
  type PlanInput,
  predecessorConfig,
  predecessorFlags,
  readPlanInput,
} from '@drc/core'
import {Flags} from '@oclif/core'

import {archivedEnvironments, archivedModels, type ArchivedObject} from '../../archived.js'
import {expandModelPrefixes, isModelTagPrefix} from '../../model-tags.js'

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
  static description = `Delete the images of archived environments (--environment) and of archived models (--model).

Dry run unless --apply. The plan is every image tag of every revision of an archived environment (--environment) and
every slug image of an archived model (--model); with neither flag, environments only (the predecessor required
one). A model version whose stored slug tag is the <modelId>-vN prefix plans its full registry tags
(<modelId>-vN-<timestamp>_<uid>). --input narrows the plan to an ObjectId file (environment:<id>,
environment_revision:<id>, model:<id>, model_version:<id>) or the tags of a previous report (drc's plan report or
the predecessor's archived-tags.json); only what is archived now is ever planned.

Archived things can still be used (runs, scheduled jobs, model versions), so right before each delete the image's
usage is read again from MongoDB: an image in use is kept, with the reason in the report. A digest that another
tag outside the plan also points at is kept too.
Exit codes: 0 done, 1 failed, 2 usage error, 3 preflight refused (nothing changed), 4 some items failed (or were deleted but could not be verified), 130 cancelled.

Alias (the predecessor's name, with its flags): drc delete_archived_tags`
  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --apply --backup',
    '<%= config.bin %> <%= command.id %> --environment --model --apply --force --json',
    '<%= config.bin %> <%= command.id %> --input ids.txt --output plan.json',
  ]
  static flags = {
    ...predecessorFlags,
    environment: Flags.boolean({description: 'Delete the images of archived environments (the default).'}),
    input: inputFlag,
    model: Flags.boolean({description: 'Delete the slug images of archived models.'}),
  }
  static hiddenAliases = ['delete_archived_tags']
  static summary = 'Delete the images of archived environments and archived models.'

  protected configFlags(): Record<string, unknown> {
    return predecessorConfig(this.flags)
  }

  async plan({config, db, log}: PlanContext): Promise<Candidate[]> {
    const input = this.flags.input ? await readPlanInput(this.flags.input) : null
    const {environments, models} = this.selection(input, log)
    const objects = [
      ...(environments ? await archivedEnvironments(db) : []),
      ...(models ? await archivedModels(db) : []),
    ]
    const prefixes = objects.some((o) => o.kind === 'model' && o.images.some((i) => isModelTagPrefix(i.tag)))
    const registry = prefixes ? await openRegistryClient(config) : null
    // One tag listing per model repository for the whole plan, only when a prefix needs it.
    const listings = new Map<string, Promise<string[]>>()
    const listTags = (r: string) => {
      if (!listings.has(r)) listings.set(r, registry!.listTags(r))
      return listings.get(r)!
    }

    try {
      const candidates: Candidate[] = []
      for (const o of objects) {
        // eslint-disable-next-line no-await-in-loop -- the listings are shared, see above
        const images = registry ? await expandModelPrefixes(o.images, listTags) : o.images
        for (const image of images) {
          const c = candidate(o, image)
          if (!input || namesCandidate(input, c, o.kind)) candidates.push(c)
        }
      }

      return candidates
    } finally {
      await registry?.close()
    }
  }

  /** --environment / --model; neither: what --input names, else environments (with a note). */
  private selection(input: null | PlanInput, log: (m: string) => void): {environments: boolean; models: boolean} {
    if (this.flags.environment || this.flags.model)
      return {environments: Boolean(this.flags.environment), models: Boolean(this.flags.model)}
    if (input) return inputKinds(input)
    log('neither --environment nor --model given: archived environments only (add --model for archived models)')
    return {environments: true, models: false}
  }
}

function candidate(o: ArchivedObject, image: ArchivedObject['images'][number]): Candidate {
  return {
    mongo: mongoRecords(o.kind, o.id, image.recordId),
    reason: `${o.kind} ${o.id} archived`,
    repository: image.repository,
    tag: image.tag,
  }
}
