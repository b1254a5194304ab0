import {Flags} from '@oclif/core'
import {BaseCommand, connectMongo, lazySecretReader} from 'drc'

import {type ImageReference, imageReferences} from '../../references.js'

export interface ReferencesListResult {
  byCollection: Record<string, number>
  references: ImageReference[]
  total: number
}

export default class ReferencesList extends BaseCommand<typeof ReferencesList> {
  static description = `List the image references stored in MongoDB (environment revisions and model version builds).

Read-only. The references strategy compares these with the registry and removes the records whose image no
longer exists; this command shows what it will look at.`
  static examples = [
    '<%= config.bin %> <%= command.id %> --collection model_versions',
    '<%= config.bin %> <%= command.id %> --json',
  ]
  static flags = {
    collection: Flags.string({
      description: 'Only this collection.',
      options: ['environment_revisions', 'model_versions'],
    }),
  }

  async run(): Promise<ReferencesListResult> {
    const config = await this.loadDrcConfig()
    const {client, db} = await connectMongo(config, {readSecret: lazySecretReader(config)})
    try {
      const references: ImageReference[] = []
      const byCollection: Record<string, number> = {}
      for await (const ref of imageReferences(db)) {
        if (this.flags.collection && ref.collection !== this.flags.collection) continue
        references.push(ref)
        byCollection[ref.collection] = (byCollection[ref.collection] ?? 0) + 1
        if (!this.jsonEnabled())
          this.log(`${ref.collection.padEnd(22)} ${ref.documentId}  ${ref.repository}:${ref.tag}`)
      }

      if (!this.jsonEnabled())
        this.log(
          `${references.length} references (${
            Object.entries(byCollection)
              .map(([c, n]) => `${c}: ${n}`)
              .join(', ') || 'none'
          })`,
        )
      return {byCollection, references, total: references.length}
    } finally {
      await client.close()
    }
  }
}
