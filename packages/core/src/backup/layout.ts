import {DrcError} from '../lib/errors.js'
import {assertRepository as checkRepository, assertTag as checkTag, parseDigest} from '../registry/digest.js'

/**
 * Backups in the bucket form an OCI image layout (image-spec "image-layout"), so `aws s3 sync` of the prefix
 * gives a directory that skopeo, crane or oras read. Blobs and manifests are keyed by digest, so a layer shared
 * by many images is stored once. drc's own record per image sits beside the layout (tools ignore it).
 *
 *   <prefix>/oci-layout                 {"imageLayoutVersion": "1.0.0"}
 *   <prefix>/index.json                 one descriptor per backed-up ref (oci-index.ts)
 *   <prefix>/blobs/sha256/<hex>         blob and manifest bytes exactly as served; metadata sha256=<hex>
 *   <prefix>/images/<repository>/<tag>.json            drc's record of a tagged image
 *   <prefix>/images/<repository>/sha256:<hex>.json     drc's record of an image backed up by digest
 *
 * Backups made before the layout kept manifests under <prefix>/manifests/sha256/<hex> and had no index.json:
 * verify and restore still read them (legacyManifestKey); `drc backup list` shows only indexed ones.
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

/** Manifests are blobs of the layout like any other. */
export function manifestKey(prefix: string, digest: string): string {
  assertDigest(digest, 'manifest')
  return blobKey(prefix, digest)
}

/** Where backups made before the OCI layout kept their manifests. */
export function legacyManifestKey(prefix: string, digest: string): string {
  assertDigest(digest, 'manifest')
  return `${base(prefix)}manifests/${digest.replace(':', '/')}`
}

export const indexKey = (prefix: string): string => `${base(prefix)}index.json`
export const ociLayoutKey = (prefix: string): string => `${base(prefix)}oci-layout`
export const recordsPrefix = (prefix: string): string => `${base(prefix)}images/`

/** `reference` is a tag or a digest. */
export function recordKey(prefix: string, repository: string, reference: string): string {
  assertRepository(repository, 'repository of a backup record')
  if (reference.includes(':')) assertDigest(reference, `${repository}@${reference}`)
  else assertTag(reference, `tag of a backup record in ${repository}`)
  return `${base(prefix)}images/${repository}/${reference}.json`
}
