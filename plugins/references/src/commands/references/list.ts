import {BaseCommand, columnNames, connectMongo, lazySecretReader, type TableColumn, tableFlags} from '@drc/core'
import {Flags} from '@oclif/core'

import {type ImageReference, imageReferences} from '../../references.js'

export interface ReferencesListResult {
  byCollection: Record<string, number>
  references: ImageReference[]
  total: number
}

const COLUMNS: Array<TableColumn<ImageReference>> = [
  {header: 'COLLECTION', key: 'collection', value: (r) => r.collection},
  {header: 'DOCUMENT', key: 'documentId', value: (r) => r.documentId},
  {header: 'REPOSITORY', key: 'repository', value: (r) => r.repository},
  {header: 'TAG', key: 'tag', value: (r) => r.tag},
  {header: 'FIELD', key: 'fieldPath', value: (r) => r.fieldPath},
]

export default class ReferencesList extends BaseCommand<typeof ReferencesList> {
  static description = `List the image references stored in MongoDB (environment revisions and model version builds).

Read-only. The references strategy compares these with the registry and removes the records whose image no longer exists; this command shows what it will look at.

Table columns (--columns, --sort): ${columnNames(COLUMNS)}.`
  static examples = [
    '<%= config.bin %> <%= command.id %> --collection model_versions',
    '<%= config.bin %> <%= command.id %> --json',
  ]
  static flags = {
    ...tableFlags,
    collection: Flags.string({
      description: 'Only this collection.',
      options: ['environment_revisions', 'model_versions'],
    }),
  }
  static summary = 'List the image references stored in MongoDB.'
  static tableColumns = COLUMNS

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
      }

      await this.printTable(references, COLUMNS)
      if (!this.jsonEnabled())
        this.logAside(
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
