import {cosmiconfig} from 'cosmiconfig'
import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'

import type {ConfigIssue, DrcConfig, LoadedConfig, ValueSource} from './types.js'

import {DEPRECATED_KEYS, KEY_BY_PATH, KEYS, type KeySpec, LEGACY_PATHS} from './keys.js'
import {validateConfig} from './validate.js'

export interface LoadOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** An explicit file (the --config flag); wins over CONFIG_FILE and the search. */
  file?: string
  /** Values from command flags, keyed by config path; `undefined` means "flag not given". */
  flags?: Record<string, unknown>
}

const MODULE = 'drc'
const SEARCH_PLACES = [
  'package.json',
  `.${MODULE}rc`,
  `.${MODULE}rc.json`,
  `.${MODULE}rc.yaml`,
  `.${MODULE}rc.yml`,
  `${MODULE}.config.yaml`,
  `${MODULE}.config.yml`,
  `${MODULE}.config.json`,
]

type Coerced = {error: string; ok: false} | {ok: true; value: unknown}

function describe(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}

const INTEGER = /^\s*-?\d+\s*$/
const NUMBER = /^\s*-?(\d+\.?\d*|\.\d+)\s*$/

type Coercer = (raw: unknown, label: string) => Coerced

const COERCERS: Record<KeySpec['type'], Coercer> = {
  boolean(raw, label) {
    if (typeof raw === 'boolean') return {ok: true, value: raw}
    const s = String(raw).trim().toLowerCase()
    if (['1', 'true', 'yes'].includes(s)) return {ok: true, value: true}
    if (['0', 'false', 'no'].includes(s)) return {ok: true, value: false}
    return {error: `${label} must be a boolean (true/false), got: ${describe(raw)}`, ok: false}
  },
  integer(raw, label) {
    const n = typeof raw === 'number' ? raw : INTEGER.test(String(raw)) ? Number(raw) : Number.NaN
    return Number.isInteger(n)
      ? {ok: true, value: n}
      : {error: `${label} must be an integer, got: ${describe(raw)}`, ok: false}
  },
  number(raw, label) {
    const n = typeof raw === 'number' ? raw : NUMBER.test(String(raw)) ? Number(raw) : Number.NaN
    return Number.isFinite(n)
      ? {ok: true, value: n}
      : {error: `${label} must be a number, got: ${describe(raw)}`, ok: false}
  },
  string(raw, label) {
    return typeof raw === 'object'
      ? {error: `${label} must be a string, got: ${describe(raw)}`, ok: false}
      : {ok: true, value: String(raw)}
  },
  'string[]'(raw, label) {
    if (Array.isArray(raw)) return {ok: true, value: raw.map(String)}
    if (typeof raw === 'string')
      return {
        ok: true,
        value: raw
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      }
    return {error: `${label} must be a list of strings, got: ${describe(raw)}`, ok: false}
  },
}

/** Turns a file or environment value into the key's type; an empty value means "unset". */
export function coerce(spec: KeySpec, raw: unknown): Coerced {
  if (raw === null || raw === '') {
    if (spec.type === 'string[]') return {ok: true, value: []}
    return {ok: true, value: spec.type === 'string' ? null : spec.default}
  }

  return COERCERS[spec.type](raw, spec.path === 'mongo.port' ? 'MongoDB port' : spec.path)
}

/** Flattens a parsed file into dotted paths; plain objects are descended, everything else is a leaf. */
function flatten(
  obj: Record<string, unknown>,
  prefix = '',
  out: Record<string, unknown> = {},
): Record<string, unknown> {
  for (const [k, v] of Object.entries(obj)) {
    const p = prefix ? `${prefix}.${k}` : k
    if (v && typeof v === 'object' && !Array.isArray(v) && !KEY_BY_PATH.has(p))
      flatten(v as Record<string, unknown>, p, out)
    else out[p] = v
  }

  return out
}

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.')
  let node = target
  for (const part of parts.slice(0, -1)) {
    node[part] ??= {}
    node = node[part] as Record<string, unknown>
  }

  node[parts.at(-1)!] = value
}

function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset)
  const line = before.split('\n').length
  return `line ${line}, column ${offset - before.lastIndexOf('\n')}`
}

/** A prefix that could still become valid JSON: it parses, or fails only for ending too early. */
function viable(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch (error) {
    const {message} = error as Error
    const at = /at position (\d+)/.exec(message)
    return /end of JSON input/.test(message) || (at !== null && Number(at[1]) >= text.length)
  }
}

/** Offset of the first character that makes `text` invalid JSON (when the engine does not say; Node 20 often). */
function badOffset(text: string): number {
  let lo = 0
  let hi = text.length
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2)
    if (viable(text.slice(0, mid))) lo = mid
    else hi = mid - 1
  }

  return lo
}

/** Why JSON `file` does not parse, with line and column, never quoting the text (it may hold passwords). */
function jsonProblem(file: string): null | string {
  let text: string
  try {
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '')
    JSON.parse(text)
    return null
  } catch (error) {
    if (!(error instanceof SyntaxError)) return null
    // The engine quotes the text around the error (`…, "…" is not valid JSON`): cut it, it may hold a password.
    const reason = error.message.replace(/, .*is not valid JSON$/s, '').replace(/ while parsing .*$/s, '')
    const at = /^(.*?) in JSON at position (\d+)/s.exec(reason)
    return at
      ? `${at[1]} at ${lineColumn(text!, Number(at[2]))}`
      : `${reason} at ${lineColumn(text!, badOffset(text!))}`
  }
}

/**
 * Why a configuration file does not parse, with its position, and without quoting the file (it may hold
 * passwords). YAML errors carry a reason and a mark; JSON is parsed again to find the position.
 */
export function parseErrorText(error: unknown, file: null | string): string {
  const e = error as {mark?: {column: number; line: number}; message?: string; reason?: string}
  if (e?.reason && e.mark) return `${e.reason} at line ${e.mark.line + 1}, column ${e.mark.column + 1}`
  const json = file && /JSON/.test(String(e?.message)) ? jsonProblem(file) : null
  if (json) return json
  const message = error instanceof Error ? error.message : String(error)
  return message.split('\n').find((l) => l.trim() && !/^(YAML|JSON) Error in /.test(l)) ?? message.split('\n')[0]
}

async function readFile(
  opts: LoadOptions,
  env: NodeJS.ProcessEnv,
  errors: ConfigIssue[],
): Promise<{data: Record<string, unknown>; file: null | string}> {
  const explorer = cosmiconfig(MODULE, {searchPlaces: SEARCH_PLACES, searchStrategy: 'none'})
  const cwd = opts.cwd ?? process.cwd()
  const explicit = opts.file ?? env.CONFIG_FILE
  try {
    if (explicit) {
      const file = path.resolve(cwd, explicit)
      if (!existsSync(file)) {
        errors.push({
          message: `configuration file ${file} does not exist (from ${opts.file ? '--config' : 'CONFIG_FILE'})`,
          path: 'config',
        })
        return {data: {}, file}
      }

      const result = await explorer.load(file)
      return {data: (result?.config ?? {}) as Record<string, unknown>, file}
    }

    const result = await explorer.search(cwd)
    return {data: (result?.config ?? {}) as Record<string, unknown>, file: result?.filepath ?? null}
  } catch (error) {
    const file = (error as {filepath?: string}).filepath ?? (explicit ? path.resolve(cwd, explicit) : null)
    errors.push({
      message: `cannot parse configuration file ${file ?? ''}: ${parseErrorText(error, file)}`.replace('  ', ' '),
      path: 'config',
    })
    return {data: {}, file}
  }
}

/** A key the table does not have: one nothing reads any more (DEPRECATED_KEYS) says so, others are unknown. */
function unknownKey(rawPath: string, p: string): ConfigIssue {
  return DEPRECATED_KEYS.has(p)
    ? {message: `'${rawPath}' is read by nothing; remove it`, path: rawPath}
    : {message: `unknown configuration key '${rawPath}' is ignored`, path: rawPath}
}

/**
 * Builds the effective configuration: defaults, then the file, then environment variables, then flags
 * (later wins). Never throws for bad input: problems are returned so `--help` and `config show` keep working.
 */
export async function loadConfig(opts: LoadOptions = {}): Promise<LoadedConfig> {
  const env = opts.env ?? process.env
  const errors: ConfigIssue[] = []
  const warnings: ConfigIssue[] = []
  const sources: Record<string, ValueSource> = {}
  const values = new Map<string, unknown>(KEYS.map((k) => [k.path, structuredClone(k.default)]))
  for (const k of KEYS) sources[k.path] = 'default'

  const apply = (spec: KeySpec, raw: unknown, source: ValueSource) => {
    const c = coerce(spec, raw)
    if (c.ok) {
      values.set(spec.path, c.value)
      sources[spec.path] = source
    } else errors.push({message: `${c.error} (from ${source})`, path: spec.path})
  }

  const {data, file} = await readFile(opts, env, errors)
  if (data && typeof data === 'object' && !Array.isArray(data)) {
    for (const [rawPath, raw] of Object.entries(flatten(data))) {
      const p = LEGACY_PATHS[rawPath] ?? rawPath
      const spec = KEY_BY_PATH.get(p)
      if (spec) apply(spec, raw, `file:${file}`)
      else warnings.push(unknownKey(rawPath, p))
    }
  } else if (data !== undefined && data !== null)
    errors.push({message: 'configuration file must hold a mapping of keys', path: 'config'})

  for (const spec of KEYS) {
    const name = spec.env?.find((e) => env[e] !== undefined && env[e] !== '')
    if (name) apply(spec, env[name], `env:${name}`)
  }

  for (const [p, raw] of Object.entries(opts.flags ?? {})) {
    const spec = KEY_BY_PATH.get(p)
    if (spec && raw !== undefined) apply(spec, raw, `flag:${p}`)
  }

  const config = {} as Record<string, unknown>
  for (const [p, v] of values) setPath(config, p, v)
  const validation = validateConfig(config as unknown as DrcConfig)
  // Values that failed coercion already have an error; do not repeat them as rule violations.
  const failed = new Set(errors.map((e) => e.path))
  errors.push(...validation.errors.filter((e) => !failed.has(e.path)))
  warnings.push(...validation.warnings)
  return {config: config as unknown as DrcConfig, errors, file, sources, warnings}
}

/** Resolves a configured report name: a bare file name lives under output_dir, a path is used as is. */
export function reportPath(config: DrcConfig, name: string): string {
  return name.includes('/') || path.isAbsolute(name) ? name : path.join(config.analysis.output_dir, name)
}
