import {Flags} from '@oclif/core'
import {readFile} from 'node:fs/promises'

import type {Candidate, MongoRecord, MongoRecordCollection} from './types.js'

import {UsageError} from '../lib/errors.js'
import {imageTypeOf} from '../usage/join.js'
import {isObjectIdHex, type ObjectIdKind, readIdFile} from '../usage/object-ids.js'

/**
 * What --input names (domain-spec §4.7, §6 bug 18): ObjectIds by kind and image tags (`environment:<tag>`,
 * `model:<tag>`). It only narrows a fresh plan: nothing it names is planned unless the strategy plans it now.
 */
export interface PlanInput {
  file: string
  ids: Partial<Record<ObjectIdKind, string[]>>
  tags: Set<string>
}

export const inputFlag = Flags.string({
  description:
    'Only what this file names, if it is still a candidate now: an ObjectId file (one prefix:<id> per line) or a previous report (drc plan report, or the predecessor report of this command).',
  helpGroup: 'DELETION',
})

type Json = Record<string, unknown>

const KIND_OF_COLLECTION: Record<MongoRecordCollection, ObjectIdKind> = {
  environment_revisions: 'environmentRevision',
  environments_v2: 'environment',
  model_versions: 'modelVersion',
  models: 'model',
}

class Collector {
  ids: Partial<Record<ObjectIdKind, string[]>> = {}
  tags = new Set<string>()

  /** A predecessor report entry: `image_type` + `tag` (image type defaults to environment, as its reports do). */
  entry(e: unknown, defaultType = 'environment'): void {
    const entry = e as Json | null
    if (typeof entry?.tag !== 'string') return
    const type = entry.image_type ?? defaultType
    if (type === 'environment' || type === 'model') this.tags.add(`${type}:${entry.tag}`)
  }

  id(kind: ObjectIdKind | undefined, value: unknown): void {
    if (!kind || !isObjectIdHex(value)) return
    ;(this.ids[kind] ??= []).push(value.toLowerCase())
  }
}

const objectValues = (v: unknown): unknown[] => (v && typeof v === 'object' ? Object.values(v) : [])
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])

/** A drc plan or audit report: `data.planned[]`, image items (repository + tags) or MongoDB records (collection + id). */
function collectDrcReport(data: Json, c: Collector): boolean {
  if (!Array.isArray(data.planned)) return false
  for (const item of data.planned as Json[]) {
    const type = typeof item?.repository === 'string' ? imageTypeOf(item.repository) : null
    if (type && Array.isArray(item.tags)) for (const t of item.tags) c.tags.add(`${type}:${String(t)}`)
    c.id(KIND_OF_COLLECTION[item?.collection as MongoRecordCollection], item?.id)
  }

  return true
}

const PREDECESSOR_KEYS = ['archived_tags', 'grouped_by_object_id', 'grouped_by_user', 'unused_references']

/** The predecessor's reports (domain-spec §4.6); false when `doc` is none of them. */
function collectPredecessorReport(doc: Json, c: Collector): boolean {
  for (const e of list(doc.archived_tags)) c.entry(e)
  for (const entries of objectValues(doc.grouped_by_object_id)) for (const e of list(entries)) c.entry(e)
  for (const user of objectValues(doc.grouped_by_user)) {
    for (const e of list((user as Json)?.tags)) c.entry(e)
    for (const id of list((user as Json)?.environments)) c.id('environment', id)
  }

  for (const r of list(doc.unused_references) as Array<Json | null>)
    c.id(KIND_OF_COLLECTION[r?.collection as MongoRecordCollection], r?.document_id)
  return PREDECESSOR_KEYS.some((k) => k in doc)
}

/** Collects what a report names; false when it is no report this reader knows. */
function collectReport(doc: Json, c: Collector): boolean {
  const drc = collectDrcReport((doc.data ?? doc) as Json, c)
  return collectPredecessorReport(doc, c) || drc
}

/** Reads --input: JSON is a report, anything else an ObjectId file (every bad line refused, exit 2). */
export async function readPlanInput(file: string): Promise<PlanInput> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new UsageError(`cannot read --input ${file}: ${(error as Error).message}`, ['check the path'])
  }

  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    return {file, ids: await readIdFile(file), tags: new Set()}
  }

  const c = new Collector()
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || !collectReport(doc as Json, c))
    throw new UsageError(`--input ${file} is neither an ObjectId file nor a report drc can replay`, [
      'give an ObjectId file (one environment:<id> / environment_revision:<id> / model:<id> / model_version:<id> per line), a drc plan or audit report, or a report of the predecessor (archived-tags.json, unused-environments.json, deactivated-user-envs.json, unused-references.json)',
    ])
  return {file, ids: c.ids, tags: c.tags}
}

/** Whether --input names this MongoDB record (its id under the kind of its collection). */
export function namesRecord(input: PlanInput, r: MongoRecord): boolean {
  return input.ids[KIND_OF_COLLECTION[r.collection]]?.includes(r.id) ?? false
}

/**
 * Whether --input names this candidate: its `<image type>:<tag>` (the type from its repository's last segment
 * unless the strategy knows it), or one of its MongoDB records by id.
 */
export function namesCandidate(input: PlanInput, c: Candidate, imageType?: 'environment' | 'model'): boolean {
  const type = imageType ?? imageTypeOf(c.repository)
  if (type && input.tags.has(`${type}:${c.tag}`)) return true
  return (c.mongo ?? []).some((r) => namesRecord(input, r))
}

/** The candidates --input names, with a note of how many it named that are no candidate now. */
export function narrowToInput(candidates: Candidate[], input: PlanInput, log: (m: string) => void): Candidate[] {
  const kept = candidates.filter((c) => namesCandidate(input, c))
  const named = input.tags.size + Object.values(input.ids).reduce((n, ids) => n + (ids?.length ?? 0), 0)
  log(
    `--input ${input.file}: ${kept.length} of ${candidates.length} candidates named (the file names ${named} ` +
      'tags and ids; what is not a candidate now is not planned)',
  )
  return kept
}

/** The image kinds --input names (archived delete's default selection when neither kind flag is given). */
export function inputKinds(input: PlanInput): {environments: boolean; models: boolean} {
  const has = (k: ObjectIdKind) => (input.ids[k]?.length ?? 0) > 0
  const tagged = (t: string) => [...input.tags].some((x) => x.startsWith(`${t}:`))
  return {
    environments: has('environment') || has('environmentRevision') || tagged('environment'),
    models: has('model') || has('modelVersion') || tagged('model'),
  }
}
