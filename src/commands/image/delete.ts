import {UsageError} from '@drc/core/lib/errors.js'
import {DeletionCommand, type DeletionFlags, type DeletionResult} from '@drc/core/lifecycle/deletion-command.js'
import {normalizeRepository} from '@drc/core/lifecycle/digest-plan.js'
import {type Candidate, type PlanContext} from '@drc/core/lifecycle/types.js'
import {imageCandidates, type ImageSelection, parseImageReference} from '@drc/core/strategies/image.js'
import {readIdFile} from '@drc/core/usage/object-ids.js'
import {Args, Flags} from '@oclif/core'

export default class ImageDelete extends DeletionCommand<typeof ImageDelete> {
  static args = {
    images: Args.string({description: 'environment:<tag>, model:<tag> or <registry host>/<repository>:<tag>'}),
  }
  static description = `Delete images by name, the images of the ObjectIds of a file, or the unused images of the latest analysis.

Dry run unless --apply. Name images as environment:<tag> or model:<tag> (in registry.repository) or as a full <registry host>/<repository>:<tag>, whose host must be the configured registry's. --input reads a typed ObjectId file (environment:, environmentRevision:, model:, modelVersion: <24 hex> per line) and selects the registry images of those objects. --unused selects every image of the latest image analysis (scanned again when older than 24 h) that MongoDB knows and calls unused; an image MongoDB does not know is never unused.

Usage is read from MongoDB when planning and again right before each delete: an image in use, or one MongoDB does not know, is kept with the reason. An image named on the command line that is kept makes the run exit 4.
Exit codes: 0 done, 1 failed, 2 usage error, 3 preflight refused (nothing changed), 4 some items failed or a named image was kept, 130 cancelled.

Alias (the predecessor's name): drc delete_image`
  static examples = [
    '<%= config.bin %> <%= command.id %> environment:64f0c0ffee0000000000beef-3',
    '<%= config.bin %> <%= command.id %> registry:5000/domino/model:64f0c0ffee0000000000beef-v2 --apply',
    '<%= config.bin %> <%= command.id %> --input ids.txt --apply --backup',
    '<%= config.bin %> <%= command.id %> --unused --unused-since-days 90',
  ]
  static flags = {
    input: Flags.string({
      description: 'A typed ObjectId file: the images of these environments, revisions, models, model versions.',
      exclusive: ['unused'],
    }),
    unused: Flags.boolean({
      description: 'The unused images of the latest image analysis (MongoDB decides; unknown images are kept).',
      exclusive: ['input'],
    }),
  }
  static hiddenAliases = ['delete_image']
  static strict = false
  static summary = 'Delete named images, the images of an ObjectId file, or the unused ones.'
  /** `repository:tag` of every image named on the command line (a kept one makes the run partial). */
  private named = new Set<string>()

  keptIsPartial(kept: {repository: string; tags: string[]}): boolean {
    return kept.tags.some((t) => this.named.has(`${normalizeRepository(kept.repository)}:${t}`))
  }

  async plan({config, db, log}: PlanContext): Promise<Candidate[]> {
    const lifecycle = this.flags as unknown as Partial<DeletionFlags>
    const rules = {
      gracePeriodDays: config.usage.grace_period_days,
      now: new Date(),
      unusedSinceDays: lifecycle['unused-since-days'],
    }
    const candidates = await imageCandidates(this.selection(), {config, db, log, rules})
    if (this.positional.length > 0) this.named = new Set(candidates.map((c) => `${c.repository}:${c.tag}`))
    return candidates
  }

  /** Bad input (a reference, another registry's host, an ObjectId file line) is refused (exit 2) before any work. */
  async run(): Promise<DeletionResult> {
    const selection = this.selection()
    if (selection.kind === 'input') await readIdFile(selection.file)
    if (selection.kind === 'named') {
      const {config, errors} = await this.loadConfigRaw()
      if (errors.length === 0) for (const ref of selection.refs) parseImageReference(ref, config)
    }

    return super.run()
  }

  private selection(): ImageSelection {
    const refs = this.positional
    const chosen = [refs.length > 0, this.flags.input !== undefined, this.flags.unused].filter(Boolean).length
    if (chosen !== 1)
      throw new UsageError(
        chosen === 0 ? 'name the images to delete' : 'name images, or --input, or --unused: one of them',
        ['drc image delete environment:<tag>', 'drc image delete --input ids.txt', 'drc image delete --unused'],
      )
    if (this.flags.input !== undefined) return {file: this.flags.input, kind: 'input'}
    return this.flags.unused ? {kind: 'unused'} : {kind: 'named', refs}
  }
}
