import {readFile} from 'node:fs/promises'

import {UsageError} from '../lib/errors.js'

/** The kinds of Domino objects an id list can name (domain-spec §4.7). */
export type ObjectIdKind = 'environment' | 'environmentRevision' | 'model' | 'modelVersion'

export const OBJECT_ID_KINDS: readonly ObjectIdKind[] = ['environment', 'environmentRevision', 'model', 'modelVersion']

// Accepted spellings, case-insensitive; the first of each list is the canonical one the docs show.
const PREFIXES: Record<string, ObjectIdKind> = {
  env: 'environment',
  env_rev: 'environmentRevision',
  environment: 'environment',
  environment_revision: 'environmentRevision',
  environmentrevision: 'environmentRevision',
  envrev: 'environmentRevision',
  envrevision: 'environmentRevision',
  model: 'model',
  model_ver: 'modelVersion',
  model_version: 'modelVersion',
  modelver: 'modelVersion',
  modelversion: 'modelVersion',
}

const HEX = /^[\da-f]+$/i

/** Why `value` is not an ObjectId, or null when it is one. `field` names the input in the message. */
export function objectIdProblem(value: unknown, field = 'ObjectId'): null | string {
  if (value === null || value === undefined || (typeof value === 'string' && value.trim() === '')) {
    return `${field} is required`
  }

  const s = String(value).trim()
  if (s.length !== 24) return `${field} '${s}' is not 24 characters long (it has ${s.length})`
  if (!HEX.test(s)) return `${field} '${s}' is not a valid hexadecimal ObjectId (only 0-9 and a-f are allowed)`
  return null
}

/** Normalises a valid id to lowercase hex; throws a UsageError naming `field` otherwise. */
export function parseObjectId(value: unknown, field = 'ObjectId'): string {
  const problem = objectIdProblem(value, field)
  if (problem)
    throw new UsageError(problem, ['an ObjectId is 24 hexadecimal characters, e.g. 68e64edfcaf3254005314c90'])
  return String(value).trim().toLowerCase()
}

export function isObjectIdHex(value: unknown): value is string {
  return typeof value === 'string' && value.length === 24 && HEX.test(value)
}

export interface IdListProblem {
  line: number
  message: string
  text: string
}

export interface ParsedIdList {
  ids: Partial<Record<ObjectIdKind, string[]>>
  problems: IdListProblem[]
}

export interface IdListOptions {
  /** Kind given to bare ids (no prefix). Without it a bare id is an error: its kind would be a guess. */
  bareKind?: ObjectIdKind
  /** Kinds this command accepts; an id of another kind is an error. Default: all. */
  kinds?: readonly ObjectIdKind[]
}

/**
 * Parses a list with one id per line: `prefix:<24-hex>` or a bare id, `#` comments and blank lines allowed.
 * Every bad line is reported with its 1-based line number; ids are lowercased and de-duplicated in order.
 */
export function parseIdList(text: string, opts: IdListOptions = {}): ParsedIdList {
  const allowed = new Set(opts.kinds ?? OBJECT_ID_KINDS)
  const ids: Partial<Record<ObjectIdKind, string[]>> = {}
  const seen = new Set<string>()
  const problems: IdListProblem[] = []
  const lines = text.split(/\r?\n/)
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const add = (message: string) => problems.push({line: index + 1, message, text: line})
    const colon = line.indexOf(':')
    let kind: ObjectIdKind | undefined
    let idText: string
    if (colon === -1) {
      idText = line
      kind = opts.bareKind
      if (!kind) {
        add(`'${line}' has no type prefix; write it as ${[...allowed].map((k) => `${k}:<id>`).join(' or ')}`)
        continue
      }
    } else {
      const prefix = line.slice(0, colon).trim().toLowerCase()
      idText = line.slice(colon + 1).trim()
      kind = PREFIXES[prefix]
      if (!kind) {
        add(`unknown type prefix '${line.slice(0, colon)}' (known: ${Object.keys(PREFIXES).join(', ')})`)
        continue
      }
    }

    if (!allowed.has(kind)) {
      add(`${kind} ids are not accepted here (accepted: ${[...allowed].join(', ')})`)
      continue
    }

    const problem = objectIdProblem(idText, `${kind} id`)
    if (problem) {
      add(problem)
      continue
    }

    const id = idText.toLowerCase()
    const key = `${kind}:${id}`
    if (seen.has(key)) continue
    seen.add(key)
    ;(ids[kind] ??= []).push(id)
  }

  return {ids, problems}
}

/**
 * Reads and parses an id file; refuses (exit 2) when the file is missing or has any bad line, listing every one,
 * so nothing runs on a half-understood input.
 */
export async function readIdFile(
  file: string,
  opts: IdListOptions = {},
): Promise<Partial<Record<ObjectIdKind, string[]>>> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new UsageError(`cannot read ObjectId file ${file}: ${(error as Error).message}`, ['check the path'])
  }

  const {ids, problems} = parseIdList(text, opts)
  if (problems.length > 0) {
    const lines = problems.map((p) => `${file}:${p.line}: ${p.message}`)
    throw new UsageError(`${problems.length} invalid line(s) in ${file}, nothing was done:\n${lines.join('\n')}`, [
      'fix or remove the lines listed above; comments start with #',
    ])
  }

  return ids
}

/** A tag belongs to an object when it equals its id or starts with `<id>-` (environment `<envId>-<n>`, model `<id>-vN…`). */
export function tagBelongsTo(tag: string, id: string): boolean {
  return tag === id || tag.startsWith(`${id}-`)
}

/** The 24-hex id a tag starts with (environment or model id), or null; lets callers index tags instead of scanning. */
export function leadingObjectId(tag: string): null | string {
  const head = tag.slice(0, 24).toLowerCase()
  if (!isObjectIdHex(head)) return null
  return tag.length === 24 || tag[24] === '-' ? head : null
}
