/**
 * The three patch formats the Kubernetes API accepts on PATCH (server-side apply is not supported by the fake):
 * RFC 6902 JSON patch, RFC 7386 JSON merge patch, and strategic merge patch (merge patch plus merge-by-key for
 * the list fields drc can touch, and `$patch: delete` on list items).
 */

export class PatchError extends Error {
  constructor(
    message: string,
    /** 400 for a malformed patch document, 422 when a well-formed patch cannot be applied. */
    readonly code: 400 | 422,
  ) {
    super(message)
  }
}

type Json = boolean | Json[] | null | number | string | {[key: string]: Json}
type JsonObject = {[key: string]: Json}

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const clone = <T>(value: T): T => structuredClone(value)

function parsePointer(pointer: string): string[] {
  if (pointer === '') return []
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer "${pointer}"`, 400)
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'))
}

function parentOf(doc: Json, tokens: string[], op: string, path: string): Json {
  let node = doc
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(token)]
    else if (isObject(node)) node = node[token]
    else node = undefined as unknown as Json
    if (node === undefined) {
      throw new PatchError(`jsonpatch ${op} operation does not apply: doc is missing path: "${path}"`, 422)
    }
  }

  return node
}

/** The operation being applied and its JSON pointer, for error messages. */
interface Where {
  op: string
  path: string
}

function arrayIndex(array: Json[], token: string, allowEnd: boolean, {op, path}: Where): number {
  if (token === '-' && allowEnd) return array.length
  const index = Number(token)
  const max = allowEnd ? array.length : array.length - 1
  if (!/^\d+$/.test(token) || index > max) {
    throw new PatchError(`jsonpatch ${op} operation does not apply: doc is missing path: "${path}"`, 422)
  }

  return index
}

function getAt(doc: Json, path: string, op: string): Json {
  const tokens = parsePointer(path)
  if (tokens.length === 0) return doc
  const parent = parentOf(doc, tokens, op, path)
  const last = tokens.at(-1)!
  const value = Array.isArray(parent)
    ? parent[arrayIndex(parent, last, false, {op, path})]
    : isObject(parent)
      ? parent[last]
      : undefined
  if (value === undefined)
    throw new PatchError(`jsonpatch ${op} operation does not apply: doc is missing path: "${path}"`, 422)
  return value
}

function removeAt(doc: Json, path: string, op: string): Json {
  const tokens = parsePointer(path)
  const parent = parentOf(doc, tokens, op, path)
  const last = tokens.at(-1)!
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, last, false, {op, path}), 1)[0]
  if (!isObject(parent) || !(last in parent)) {
    throw new PatchError(`jsonpatch ${op} operation does not apply: doc is missing key: "${path}"`, 422)
  }

  const value = parent[last]
  delete parent[last]
  return value
}

function addAt(doc: Json, {op, path}: Where, value: Json, replace = false): Json {
  const tokens = parsePointer(path)
  if (tokens.length === 0) return value
  const parent = parentOf(doc, tokens, op, path)
  const last = tokens.at(-1)!
  if (Array.isArray(parent)) {
    const index = arrayIndex(parent, last, !replace, {op, path})
    if (replace) parent[index] = value
    else parent.splice(index, 0, value)
  } else if (isObject(parent)) {
    if (replace && !(last in parent)) {
      throw new PatchError(`jsonpatch replace operation does not apply: doc is missing key: ${path}`, 422)
    }

    parent[last] = value
  } else {
    throw new PatchError(`jsonpatch ${op} operation does not apply: doc is missing path: "${path}"`, 422)
  }

  return doc
}

export function applyJsonPatch(target: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw new PatchError('json patch must be an array of operations', 400)
  let doc = clone(target) as Json
  for (const operation of patch) {
    if (!isObject(operation) || typeof operation.op !== 'string' || typeof operation.path !== 'string') {
      throw new PatchError(`invalid json patch operation: ${JSON.stringify(operation)}`, 400)
    }

    const {from, op, path, value} = operation
    switch (op) {
      case 'add': {
        if (value === undefined) throw new PatchError(`missing value for add at ${path}`, 400)
        doc = addAt(doc, {op, path}, clone(value))
        break
      }

      case 'copy': {
        doc = addAt(doc, {op, path}, clone(getAt(doc, String(from), op)))
        break
      }

      case 'move': {
        const moved = removeAt(doc, String(from), op)
        doc = addAt(doc, {op, path}, moved)
        break
      }

      case 'remove': {
        removeAt(doc, path, op)
        break
      }

      case 'replace': {
        if (value === undefined) throw new PatchError(`missing value for replace at ${path}`, 400)
        doc = addAt(doc, {op, path}, clone(value), true)
        break
      }

      case 'test': {
        if (JSON.stringify(getAt(doc, path, op)) !== JSON.stringify(value)) {
          throw new PatchError(`testing value ${path} failed: test failed`, 422)
        }

        break
      }

      default: {
        throw new PatchError(`Unexpected kind: ${op}`, 400)
      }
    }
  }

  return doc
}

export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch)
  const result: JsonObject = isObject(target) ? clone(target) : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key]
    else result[key] = applyMergePatch(result[key], value) as Json
  }

  return result
}

/** Merge keys of the list fields (Kubernetes' `patchMergeKey`) the fake knows; other lists are replaced. */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  env: 'name',
  imagePullSecrets: 'name',
  initContainers: 'name',
  ports: 'containerPort',
  volumeMounts: 'mountPath',
  volumes: 'name',
}

export function applyStrategicMergePatch(target: unknown, patch: unknown, field?: string): unknown {
  if (Array.isArray(patch)) {
    const key = field ? MERGE_KEYS[field] : undefined
    if (!key || !Array.isArray(target)) return clone(patch.filter((item) => !(isObject(item) && item.$patch)))
    const result = clone(target) as Json[]
    for (const item of patch) {
      if (!isObject(item)) continue
      const index = result.findIndex((existing) => isObject(existing) && existing[key] === item[key])
      if (item.$patch === 'delete') {
        if (index !== -1) result.splice(index, 1)
        continue
      }

      if (index === -1) result.push(clone(item))
      else result[index] = applyStrategicMergePatch(result[index], item) as Json
    }

    return result
  }

  if (!isObject(patch)) return clone(patch)
  if (patch.$patch === 'replace') {
    const rest = clone(patch)
    delete rest.$patch
    return rest
  }

  const result: JsonObject = isObject(target) ? clone(target) : {}
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue
    if (value === null) delete result[key]
    else result[key] = applyStrategicMergePatch(result[key], value, key) as Json
  }

  return result
}

export const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
] as const

export function applyPatch(contentType: (typeof PATCH_TYPES)[number], target: unknown, patch: unknown): unknown {
  switch (contentType) {
    case 'application/json-patch+json': {
      return applyJsonPatch(target, patch)
    }

    case 'application/merge-patch+json': {
      return applyMergePatch(target, patch)
    }

    case 'application/strategic-merge-patch+json': {
      return applyStrategicMergePatch(target, patch)
    }
  }
}
