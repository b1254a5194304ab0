import {DrcError} from '../lib/errors.js'
import {assertRepository as checkRepository, assertTag as checkTag, parseDigest} from '../registry/digest.js'

/**
 * The content-addressed layout of backups in the bucket. Blobs and manifests are keyed by digest, so a layer
 * shared by many images is stored once; a small JSON record per image says which digest a tag had.
 *
 *   <prefix>/blobs/sha256/<hex>        blob bytes; metadata sha256=<hex> (hashed while streaming)
 *   <prefix>/manifests/sha256/<hex>    manifest bytes exactly as served; ContentType = its media type
 *   <prefix>/images/<repository>/<tag>.json            record of a tagged image
 *   <prefix>/images/<repository>/sha256:<hex>.json     record of an image backed up by digest
 */

/** Backups are sha256 only (blobs are hashed with sha256 while streaming); any other digest is refused. */
export function assertDigest(digest: unknown, what: string): string {
  const d = parseDigest(digest, what)
  if (d.algorithm !== 'sha256') {
    throw new DrcError(`${what}: "${d.value}" is not a sha256 digest`, {
      suggestions: ['backups support sha256 digests only (sha256:<64 hex characters>)'],
    })
  }

  return d.value
}

export function assertTag(tag: unknown, what = 'image tag'): string {
  return checkTag(tag, what)
}

export function assertRepository(repository: unknown, what = 'repository'): string {
  return checkRepository(repository, what)
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
  assertRepository(repository, 'repository of a backup record')
  if (reference.includes(':')) assertDigest(reference, `${repository}@${reference}`)
  else assertTag(reference, `tag of a backup record in ${repository}`)
  return `${base(prefix)}images/${repository}/${reference}.json`
}
