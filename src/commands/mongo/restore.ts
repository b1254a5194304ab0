import type {RestoreResult, UndoSource} from '@drc/core/mongo/restore.js'
import type {UndoUpdatesResult} from '@drc/core/mongo/updates.js'

import {BaseCommand} from '@drc/core/lib/base-command.js'
import {errorMessage, UsageError} from '@drc/core/lib/errors.js'
import {ExitCode} from '@drc/core/lib/exit-codes.js'
import {Args, Flags} from '@oclif/core'
import {readFile} from 'node:fs/promises'

export default class MongoRestore extends BaseCommand<typeof MongoRestore> {
  static args = {
    report: Args.string({
      description: 'Audit report of a deletion run made with --mongo-cleanup (or its undo journal under mongo-undo/).',
      required: true,
    }),
  }
  static description = `Put back the MongoDB documents that a --mongo-cleanup run removed, or that a run changed.

Reads the documents the run saved whole (MongoDB Extended JSON, canonical: every BSON type kept) and inserts exactly
those, unchanged, into the configured database. A document whose _id exists again is refused (never overwritten),
with the reason. Documents the run changed (e.g. drc unused delete --archive) get their saved version back, only
while they still are what the run made of them; one changed since is refused. The images themselves are not
restored (see drc backup restore).
Exit codes: 0 all restored, 2 the file lists no removed documents or names another database, 4 some were refused.`
  static examples = [
    '<%= config.bin %> <%= command.id %> reports/archived-delete-audit-latest.json --dry-run',
    '<%= config.bin %> <%= command.id %> reports/archived-delete-audit-2026-01-05T10-00-00.000Z.json --json',
  ]
  static flags = {
    'dry-run': Flags.boolean({description: 'Show what would be restored and what refused; write nothing.'}),
  }
  static summary = 'Restore the MongoDB documents a --mongo-cleanup run removed.'

  async run(): Promise<RestoreResult & {changes: null | UndoUpdatesResult}> {
    const file = this.args.report
    const text = await readFile(file, 'utf8').catch((error: unknown) => {
      throw new UsageError(`cannot read ${file}: ${errorMessage(error)}`)
    })
    const [{restoreDocuments, undoSourceOf}, {undoUpdates, updateSourceOf}, {connectMongo}, {lazySecretReader}] =
      await Promise.all([
        import('@drc/core/mongo/restore.js'),
        import('@drc/core/mongo/updates.js'),
        import('@drc/core/services/mongo.js'),
        import('@drc/core/kube/client.js'),
      ])
    const changed = updateSourceOf(text)
    let source: null | UndoSource = null
    try {
      source = undoSourceOf(file, text)
    } catch (error) {
      // A run that only changed documents (no --mongo-cleanup) has nothing removed to put back.
      if (!changed || changed.updated.length === 0) throw error
    }

    const database = source?.database ?? changed!.database
    const config = await this.loadDrcConfig()
    if (database !== config.mongo.db)
      throw new UsageError(
        `${file} lists documents of database ${database}, the configuration names ${config.mongo.db}`,
        [`set mongo.db (MONGODB_DB) to ${database} to restore them where they came from`],
      )
    const dryRun = Boolean(this.flags['dry-run'])
    const mongo = await connectMongo(config, {readSecret: lazySecretReader(config)})
    let result: RestoreResult & {changes: null | UndoUpdatesResult}
    try {
      const restored = source
        ? await restoreDocuments(mongo.db, source.documents, {dryRun})
        : {database, dry_run: dryRun, refused: [], restored: []}
      const changes =
        changed && changed.updated.length > 0 ? await undoUpdates(mongo.db, changed.updated, {dryRun}) : null
      result = {...restored, changes}
    } finally {
      await mongo.client.close()
    }

    if (!this.jsonEnabled()) this.print(result)
    if (result.refused.length > 0 || (result.changes?.refused.length ?? 0) > 0) process.exitCode = ExitCode.PARTIAL
    return result
  }

  private print(result: RestoreResult & {changes: null | UndoUpdatesResult}): void {
    const verb = result.dry_run ? 'would restore' : 'restored'
    for (const r of result.restored) this.log(`  ✓ ${verb} ${r.collection} ${r.id}`)
    for (const r of result.refused) this.log(`  ✗ refused ${r.collection} ${r.id}: ${r.reason}`)
    for (const r of result.changes?.reverted ?? []) this.log(`  ✓ ${verb} the saved version of ${r.collection} ${r.id}`)
    for (const r of result.changes?.refused ?? []) this.log(`  ✗ refused ${r.collection} ${r.id}: ${r.reason}`)
    this.log(`${result.restored.length} ${verb}, ${result.refused.length} refused (database ${result.database})`)
    if (result.changes)
      this.log(`${result.changes.reverted.length} changed documents ${verb}, ${result.changes.refused.length} refused`)
  }
}
