import {createHash} from 'node:crypto'

import type {BackupRecord, BackupStore, ImageRef, VerifyProblem} from './types.js'

import {blobKey, legacyManifestKey} from './layout.js'
import {fromDescriptor, readIndex, refName} from './oci-index.js'
import {withStore} from './store.js'

export function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`
}

/** An error that carries the verify problem it stands for (missing or damaged object). */
export class ProblemError extends Error {
  constructor(readonly problem: VerifyProblem) {
    super(`${problem.key}: ${problem.detail}`)
  }
}

/** The media type a manifest's own bytes declare (Docker v2 and OCI manifests carry one), if any. */
function declaredMediaType(body: Buffer): string | undefined {
  try {
    const m = (JSON.parse(body.toString('utf8')) as {mediaType?: unknown}).mediaType
    return typeof m === 'string' ? m : undefined
  } catch {
    return undefined
  }
}

/**
 * A backed-up manifest by digest: from blobs/ (the OCI layout), else from manifests/ (backups made before it).
 * Its bytes must hash to the digest. The media type is the stored ContentType, else what the bytes declare.
 */
export async function loadManifest(
  target: BackupStore,
  digest: string,
): Promise<{body: Buffer; key: string; mediaType: string}> {
  const store = withStore(target)
  let key = blobKey(target.prefix, digest)
  let got = await store.getBytes(key)
  if (!got) {
    const legacy = legacyManifestKey(target.prefix, digest)
    got = await store.getBytes(legacy)
    if (got) key = legacy
  }

  if (!got) throw new ProblemError({detail: 'manifest object missing', digest, key, kind: 'missing'})
  const actual = sha256(got.body)
  if (actual !== digest)
    throw new ProblemError({detail: `manifest bytes hash to ${actual}`, digest, key, kind: 'digest'})
  const stored = got.contentType && got.contentType !== 'application/octet-stream' ? got.contentType : undefined
  return {body: got.body, key, mediaType: stored ?? declaredMediaType(got.body) ?? ''}
}

/**
 * What a ref was backed up as, without drc's record: its index.json entry (a layout written by another tool,
 * or a record lost). Null when index.json has no entry of that ref name.
 */
export async function recordFromIndex(target: BackupStore, ref: ImageRef): Promise<BackupRecord | null> {
  const {index} = await readIndex(target)
  const name = ref.tag === undefined ? refName(ref.repository, null, ref.digest) : `${ref.repository}:${ref.tag}`
  for (const d of index.manifests) {
    const e = fromDescriptor(d)
    if (e?.ref !== name) continue
    return {
      backed_up_at: e.backedUpAt ?? '',
      blobs: [],
      digest: e.digest,
      manifests: [],
      mediaType: e.mediaType,
      repository: e.repository,
      tag: e.tag,
    }
  }

  return null
}
