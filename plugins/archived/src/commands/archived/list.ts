import {BaseCommand, connectMongo, lazySecretReader} from '@drc/core'
import {Flags} from '@oclif/core'

import {archivedEnvironments, archivedModels, type ArchivedObject} from '../../archived.js'

export interface ArchivedListResult {
  environments: ArchivedObject[]
  models: ArchivedObject[]
  totalImages: number
}

export default class ArchivedList extends BaseCommand<typeof ArchivedList> {
  static description = `List archived environments and models with the image tags of their revisions and versions.

Read-only: it reads MongoDB (environments_v2, environment_revisions, models, model_versions) and changes nothing.
These are the objects the archived strategy considers; whether an image can really go is decided by the
usage check at deletion time.`
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --model --json']
  static flags = {
    environment: Flags.boolean({description: 'Only archived environments.', exclusive: ['model']}),
    model: Flags.boolean({description: 'Only archived models.', exclusive: ['environment']}),
  }
  static summary = 'List archived environments and models with the image tags they hold.'

  async run(): Promise<ArchivedListResult> {
    const config = await this.loadDrcConfig()
    const {client, db} = await connectMongo(config, {readSecret: lazySecretReader(config)})
    try {
      const environments = this.flags.model ? [] : await archivedEnvironments(db)
      const models = this.flags.environment ? [] : await archivedModels(db)
      const totalImages = [...environments, ...models].reduce((n, o) => n + o.images.length, 0)
      if (!this.jsonEnabled()) {
        for (const o of [...environments, ...models])
          this.log(
            `${o.kind.padEnd(11)} ${o.id}  ${o.name.padEnd(30)} ${o.children} ${o.kind === 'model' ? 'versions' : 'revisions'}, ${o.images.length} images`,
          )
        this.log(
          `${environments.length} archived environments, ${models.length} archived models, ${totalImages} image tags`,
        )
      }

      return {environments, models, totalImages}
    } finally {
      await client.close()
    }
  }
}
