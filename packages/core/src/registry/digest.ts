import {createHash} from 'node:crypto'

import {DrcError} from '../lib/errors.js'

/**
 * The one gate for every digest, tag and repository name that comes from outside drc (registry headers and
 * bodies, tag lists, S3 backup records, reports on disk). They end up in URLs, file paths and S3 keys, so each
 * is checked against the OCI grammar and an allow-list of algorithms before it is used.
 */

/** Allowed algorithms and the length of their lower-case hex encoding. Anything else is refused. */
export const DIGEST_ALGORITHMS = {sha256: 64, sha512: 128} as const

export type DigestAlgorithm = keyof typeof DIGEST_ALGORITHMS

export interface Digest {
  algorithm: DigestAlgorithm
  encoded: string
  /** `algorithm:encoded`, exactly as given. */
  value: string
}

// OCI image-spec descriptor grammar: algorithm-component (separator algorithm-component)* ":" encoded.
const GRAMMAR = /^[a-z\d]+(?:[+._-][a-z\d]+)*:[\w=-]+$/
// The distribution spec's tag and repository-name grammars.
const TAG = /^\w[\w.-]{0,127}$/
const REPOSITORY = /^[\da-z]+(?:(?:[._]|__|-+)[\da-z]+)*(?:\/[\da-z]+(?:(?:[._]|__|-+)[\da-z]+)*)*$/

/** A value as it can be shown in an error: quoted, control characters escaped, bounded. */
export function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value)
  const quoted = JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text)
  return typeof value === 'string' ? quoted : `${quoted} (${typeof value})`
}

/** A name or digest from outside that drc refuses to use; names where it came from and the bad value. */
export class InvalidReferenceError extends DrcError {
  constructor(
    readonly source: string,
    readonly value: unknown,
    readonly kind: 'digest' | 'repository' | 'tag',
    reason: string,
  ) {
    super(`${source}: ${shown(value)} is not a valid ${kind} (${reason}); drc refuses to use it`, {
      suggestions: [
        kind === 'digest'
          ? 'drc accepts sha256:<64 lower-case hex> and sha512:<128 lower-case hex> digests only'
          : `see the OCI distribution spec for the ${kind} grammar`,
        'a registry, proxy or backup answering this is broken or hostile; check what answers at this address',
      ],
    })
    this.name = 'InvalidReferenceError'
  }
}

function digestProblem(value: unknown): null | string {
  if (typeof value !== 'string') return 'not a string'
  if (!GRAMMAR.test(value)) return 'not of the form algorithm:hex'
  const [algorithm, encoded] = value.split(':')
  if (!Object.hasOwn(DIGEST_ALGORITHMS, algorithm)) return `algorithm "${algorithm}" is not allowed`
  const length = DIGEST_ALGORITHMS[algorithm as DigestAlgorithm]
  if (encoded.length !== length || !/^[\da-f]+$/.test(encoded))
    return `${algorithm} needs ${length} lower-case hex characters`
  return null
}

export function isDigest(value: unknown): value is string {
  return digestProblem(value) === null
}

/** Parses a digest; `source` says where it came from (e.g. "Docker-Content-Digest of GET …"). */
export function parseDigest(value: unknown, source: string): Digest {
  const problem = digestProblem(value)
  if (problem !== null) throw new InvalidReferenceError(source, value, 'digest', problem)
  const [algorithm, encoded] = (value as string).split(':')
  return {algorithm: algorithm as DigestAlgorithm, encoded, value: value as string}
}

export function assertDigest(value: unknown, source: string): string {
  return parseDigest(value, source).value
}

export function assertTag(value: unknown, source: string): string {
  if (typeof value !== 'string' || !TAG.test(value))
    throw new InvalidReferenceError(source, value, 'tag', 'letters, digits, _ . - only, at most 128, not first . or -')
  return value
}

export function assertRepository(value: unknown, source: string): string {
  if (typeof value !== 'string' || !REPOSITORY.test(value))
    throw new InvalidReferenceError(source, value, 'repository', 'lower-case path components separated by /')
  return value
}

/** A manifest reference is a tag or a digest (anything with ':' must be a digest). */
export function assertReference(value: unknown, source: string): string {
  return typeof value === 'string' && value.includes(':') ? assertDigest(value, source) : assertTag(value, source)
}

export function hashOf(data: Buffer | string, algorithm: DigestAlgorithm): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`
}

/** The digest `body` really has, in the algorithm of `expected`; equal to `expected.value` when it verifies. */
export function actualDigest(body: Buffer, expected: Digest): string {
  return hashOf(body, expected.algorithm)
}
