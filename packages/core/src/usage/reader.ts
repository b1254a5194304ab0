import type {Db, Document, Filter} from 'mongodb'

import {DrcError, errorMessage} from '../lib/errors.js'
import {ExitCode} from '../lib/exit-codes.js'

/** Collections the graph cannot answer without: if one is missing or unreadable, nothing is "unused". */
export const REQUIRED_COLLECTIONS = [
  'environments_v2',
  'environment_revisions',
  'models',
  'model_versions',
  'runs',
  'workspace',
  'workspace_session',
  'projects',
  'scheduler_jobs',
] as const

/** Collections that do not exist in every Domino version; absent = no usage from them. */
export const OPTIONAL_COLLECTIONS = [
  'builds',
  'sagas',
  'users',
  'organizations',
  'app_versions',
  'model_products',
  'userPreferences',
] as const

export type CollectionName = (typeof OPTIONAL_COLLECTIONS)[number] | (typeof REQUIRED_COLLECTIONS)[number]

/** A usage source could not be read; the graph refuses to answer rather than call anything unused. */
export class UsageSourceError extends DrcError {
  readonly source: string

  constructor(source: string, reason: string, cause?: unknown) {
    super(`usage source '${source}' cannot be read: ${reason}; refusing to decide what is unused`, {
      cause,
      exitCode: ExitCode.FAILURE,
      suggestions: [
        `check that MongoDB is reachable and the collection '${source}' exists and is readable (drc health)`,
      ],
    })
    this.name = 'UsageSourceError'
    this.source = source
  }
}

export interface SourceStatus {
  documents: number
  name: string
  present: boolean
  required: boolean
}

const REQUIRED = new Set<string>(REQUIRED_COLLECTIONS)
// Small batches keep fewer streamed documents alive across awaits, so they die young (measured: peak RSS of a
// 200k-run build 324 MB at 5000, 260-290 MB at 200-1000, no slower).
const BATCH = 500

/** Streaming, projected reads of the usage collections, with failures attributed to the collection. */
export class UsageReader {
  readonly status = new Map<string, SourceStatus>()
  private present = new Set<string>()

  constructor(
    readonly db: Db,
    private readonly onDocument?: (collection: string, count: number) => Promise<void> | void,
  ) {}

  /**
   * Runs an aggregation (FerretDB-compatible stages only) and streams its results.
   * @yields each result document; a failure is rethrown as UsageSourceError naming the collection
   */
  async *aggregate(name: CollectionName, pipeline: Document[]): AsyncGenerator<Document> {
    if (!this.has(name)) return
    yield* this.guard(name, this.db.collection(name).aggregate(pipeline, {allowDiskUse: true, batchSize: BATCH}))
  }

  async *find(name: CollectionName, filter: Document, projection: Document): AsyncGenerator<Document> {
    if (!this.has(name)) return
    // A MongoDB collection's find, not Array#find (the unicorn rules cannot tell them apart).
    // eslint-disable-next-line unicorn/no-array-callback-reference, unicorn/no-array-method-this-argument
    yield* this.guard(name, this.db.collection(name).find(filter as Filter<Document>, {batchSize: BATCH, projection}))
  }

  has(name: CollectionName): boolean {
    return this.present.has(name)
  }

  /** Lists collections once; a missing required collection is an error naming it. */
  async init(): Promise<void> {
    let names: string[]
    try {
      names = (await this.db.listCollections({}, {nameOnly: true}).toArray()).map((c) => c.name)
    } catch (error) {
      throw new UsageSourceError('listCollections', errorMessage(error), error)
    }

    this.present = new Set(names)
    for (const name of [...REQUIRED_COLLECTIONS, ...OPTIONAL_COLLECTIONS]) {
      const present = this.present.has(name)
      this.status.set(name, {documents: 0, name, present, required: REQUIRED.has(name)})
      if (!present && REQUIRED.has(name)) {
        throw new UsageSourceError(name, `the collection does not exist in database '${this.db.databaseName}'`)
      }
    }
  }

  private async *guard(
    name: string,
    cursor: AsyncIterable<Document> & {close(): Promise<void>},
  ): AsyncGenerator<Document> {
    const status = this.status.get(name)
    try {
      for await (const doc of cursor) {
        if (status) status.documents++
        const pending = this.onDocument?.(name, status?.documents ?? 0)
        if (pending) await pending
        yield doc
      }
    } catch (error) {
      throw new UsageSourceError(name, errorMessage(error), error)
    } finally {
      await cursor.close().catch(() => {})
    }
  }
}
