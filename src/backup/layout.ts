import {DrcError} from '../lib/errors.js'

/**
 * The content-addressed layout of backups in the bucket. Blobs and manifests are keyed by digest, so a layer
 * shared by many images is stored once; a small JSON record per image says which digest a tag had.
 *
 *   <prefix>/blobs/sha256/<hex>        blob bytes; metadata sha256=<hex> (hashed while streaming)
 *   <prefix>/manifests/sha256/<hex>    manifest bytes exactly as served; ContentType = its media type
 *   <prefix>/images/<repository>/<tag>.json            record of a tagged image
 *   <prefix>/images/<repository>/sha256:<hex>.json     record of an image backed up by digest
 */

const DIGEST = /^sha256:[\da-f]{64}$/
// The distribution spec's tag grammar; it cannot contain ':' or '/', so tag and digest records never collide.
const TAG = /^\w[\w.-]{0,127}$/
const REPOSITORY = /^[\da-z]+(?:(?:[._]|__|-+)[\da-z]+)*(?:\/[\da-z]+(?:(?:[._]|__|-+)[\da-z]+)*)*$/

export function assertDigest(digest: string, what: string): void {
  if (!DIGEST.test(digest)) {
    throw new DrcError(`${what}: "${digest}" is not a sha256 digest`, {
      suggestions: ['backups support sha256 digests only (sha256:<64 hex characters>)'],
    })
  }
}

export function assertTag(tag: string): void {
  if (!TAG.test(tag)) throw new DrcError(`"${tag}" is not a valid image tag`)
}

export function assertRepository(repository: string): void {
  if (!REPOSITORY.test(repository)) throw new DrcError(`"${repository}" is not a valid repository name`)
}

function base(prefix: string): string {
  const p = prefix.replaceAll(/^\/+|\/+$/g, '')
  return p ? `${p}/` : ''
}

export function blobKey(prefix: string, digest: string): string {
  assertDigest(digest, 'blob')
  return `${base(prefix)}blobs/${digest.replace(':', '/')}`
}

export function manifestKey(prefix: string, digest: string): string {
  assertDigest(digest, 'manifest')
  return `${base(prefix)}manifests/${digest.replace(':', '/')}`
}

/** `reference` is a tag or a digest. */
export function recordKey(prefix: string, repository: string, reference: string): string {
  assertRepository(repository)
  if (reference.includes(':')) assertDigest(reference, `${repository}@${reference}`)
  else assertTag(reference)
  return `${base(prefix)}images/${repository}/${reference}.json`
}
