import {type ObjectIdKind, readIdFile, UsageError} from '@drc/core'
import {readFile} from 'node:fs/promises'

/**
 * What --input names: ObjectIds by kind (an ObjectId file, domain-spec §4.7) or image tags (`environment:<tag>`,
 * `model:<tag>`) from a previous report. It narrows the plan; it never adds anything that is not archived now.
 */
export interface ArchivedInput {
  ids: Partial<Record<ObjectIdKind, string[]>>
  /** `<image type>:<tag>` of every tag a report listed. */
  tags: Set<string>
}

type Json = Record<string, unknown>

const typeOfRepository = (repository: unknown): null | string => {
  const m = /(?:^|\/)(environment|model)$/.exec(String(repository ?? ''))
  return m ? m[1] : null
}

/** Tags of a report: the predecessor's archived-tags.json (`archived_tags[]`) or a drc plan/audit report. */
function reportTags(file: string, doc: Json): Set<string> {
  const tags = new Set<string>()
  if (Array.isArray(doc.archived_tags)) {
    for (const e of doc.archived_tags as Json[])
      if (typeof e?.tag === 'string' && (e.image_type === 'environment' || e.image_type === 'model'))
        tags.add(`${e.image_type}:${e.tag}`)
    return tags
  }

  const data = (doc.data ?? doc) as Json
  if (!Array.isArray(data.planned))
    throw new UsageError(`${file} is neither an ObjectId file nor a report drc can replay`, [
      'give an ObjectId file (one environment:<id> / model:<id> per line), the predecessor archived-tags.json, or a drc archived delete plan report',
    ])
  for (const item of data.planned as Json[]) {
    const type = typeOfRepository(item.repository)
    if (type && Array.isArray(item.tags)) for (const t of item.tags) tags.add(`${type}:${String(t)}`)
  }

  return tags
}

/** Reads --input: JSON is a report, anything else an ObjectId file (every bad line refused, exit 2). */
export async function readArchivedInput(file: string): Promise<ArchivedInput> {
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
    return {ids: await readIdFile(file), tags: new Set()}
  }

  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new UsageError(`${file} is JSON but not a report object`, ['give a report or an ObjectId file'])
  return {ids: {}, tags: reportTags(file, doc as Json)}
}

/** The image kinds --input names (for the default selection when neither --environment nor --model is given). */
export function inputKinds(input: ArchivedInput): {environments: boolean; models: boolean} {
  const {ids, tags} = input
  const has = (k: ObjectIdKind) => (ids[k]?.length ?? 0) > 0
  return {
    environments:
      has('environment') || has('environmentRevision') || [...tags].some((t) => t.startsWith('environment:')),
    models: has('model') || has('modelVersion') || [...tags].some((t) => t.startsWith('model:')),
  }
}

/** Whether a candidate image (of object `objectId`, record `recordId`) is named by --input. */
export function namedByInput(
  input: ArchivedInput,
  c: {kind: 'environment' | 'model'; objectId: string; recordId: null | string; tag: string},
): boolean {
  const [parent, child]: ObjectIdKind[] =
    c.kind === 'model' ? ['model', 'modelVersion'] : ['environment', 'environmentRevision']
  if (input.ids[parent]?.includes(c.objectId)) return true
  if (c.recordId && input.ids[child]?.includes(c.recordId)) return true
  return input.tags.has(`${c.kind}:${c.tag}`)
}
