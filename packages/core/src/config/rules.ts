import {z} from 'zod'

import type {DrcConfig} from './types.js'

import {mongoUriProblem} from './mongo-uri.js'
import {caFileProblem} from './tls.js'

/**
 * The vocabulary of the key table's rules: zod schemas of one value (type, range, allowed values, format), each
 * failure message naming the rule, and findings that read other keys or only warn.
 */

const REPOSITORY = /^[\w\-/]+$/
const DNS_LABEL = /^[a-z\d]([a-z\d-]*[a-z\d])?$/
const HOST_PORT = /^[\w.-]+(:\d{1,5})?$/
const IP_LIKE = /^\d+\.\d+\.\d+\.\d+$/

export function stripScheme(url: string): string {
  return url.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '')
}

export function isValidRegistryUrl(url: string): boolean {
  if (!url || /\s/.test(url)) return false
  return stripScheme(url).length > 0
}

export function isValidRepository(name: string): boolean {
  return REPOSITORY.test(name)
}

export function isValidKubernetesName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && DNS_LABEL.test(name)
}

export function isValidS3Bucket(name: string): boolean {
  return name.length >= 3 && name.length <= 63 && DNS_LABEL.test(name) && !IP_LIKE.test(name)
}

export const isHostPort = (url: string): boolean => HOST_PORT.test(stripScheme(url))

/** A problem found on a key by a rule that reads other keys, or a warning (the value works, but is doubtful). */
export interface Finding {
  message: string
  warning?: true
}

/** Rules of one key that read the whole configuration; null or [] when there is nothing to say. */
export type Cross = (c: DrcConfig) => Finding | Finding[] | null

export const warning = (message: string): Finding => ({message, warning: true})

/** A string (or unset) value judged by `problem`, which returns the message naming the broken rule. */
export function text(problem: (value: null | string) => null | string): z.ZodType {
  return z
    .string()
    .nullable()
    .superRefine((value, ctx) => {
      const message = problem(value)
      if (message) ctx.addIssue({code: 'custom', message})
    })
}

/** A number of at least `min` (and at most `max`), one message for every way of breaking it. */
export function range(
  kind: 'integer' | 'number',
  message: (input: unknown) => string,
  min: number,
  max?: number,
): z.ZodType {
  const error = (iss: {input?: unknown}) => message(iss.input)
  const base = kind === 'integer' ? z.number().int({error}) : z.number()
  const low = base.min(min, {error})
  return max === undefined ? low : low.max(max, {error})
}

/** A number strictly above `bound`. */
export function above(bound: number, message: string): z.ZodType {
  return z.number().gt(bound, {error: message})
}

/** One of `values`; the message lists them all. */
export function oneOf(values: readonly [string, ...string[]]): z.ZodType {
  const listed = `${values.slice(0, -1).join(', ')} or ${values.at(-1)}`
  return z.enum(values, {error: (iss) => `must be ${listed}, got: ${String(iss.input)}`})
}

export function caFile(value: null | string): null | string {
  return value ? caFileProblem(value) : null
}

/** mongo.uri: the driver's own parser decides; the message never quotes the URI (it may hold a password). */
export function mongoUri(value: null | string): null | string {
  if (!value) return null
  if (!/^mongodb(\+srv)?:\/\//.test(value)) return 'MongoDB URI must start with mongodb:// or mongodb+srv://'
  const problem = mongoUriProblem(value)
  if (!problem || problem.startsWith('MongoDB URI')) return problem
  return `MongoDB URI does not parse: ${problem} (the URI is not shown: it may hold a password)`
}
