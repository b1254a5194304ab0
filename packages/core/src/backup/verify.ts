import type {BackupRecord, BackupStore, ImageRef, VerifyProblem, VerifyResult} from './types.js'

import {mapLimit} from '../registry/map-limit.js'
import {SHA256_METADATA} from './backup.js'
import {assertDigest, assertRepository, assertTag, blobKey, indexKey, recordKey} from './layout.js'
import {fromDescriptor, type OciIndex, readIndex, refName} from './oci-index.js'
import {loadManifest as loadStored, ProblemError} from './read.js'
import {withStore} from './store.js'
import {walkImage} from './walk.js'

/** Standard tools find the image only through its index.json entry: one with this ref name and digest. */
async function indexProblem(target: BackupStore, record: BackupRecord, read?: OciIndex): Promise<null | VerifyProblem> {
  const name = refName(record.repository, record.tag, record.digest)
  const index = read ?? (await readIndex(target)).index
  const entry = index.manifests.map((d) => fromDescriptor(d)).find((e) => e?.ref === name)
  const key = indexKey(target.prefix)
  if (!entry) return {detail: `index.json has no entry for ${name}`, digest: record.digest, key, kind: 'record'}
  if (entry.digest !== record.digest)
    return {detail: `index.json names ${entry.digest} for ${name}`, digest: record.digest, key, kind: 'record'}
  return null
}

/** Every name and digest of a record read back from S3 is outside input: checked before it builds a key or URL. */
function recordProblem(r: Partial<BackupRecord>): null | string {
  try {
    assertDigest(r.digest, 'record digest')
    assertRepository(r.repository, 'record repository')
    if (r.tag !== null && r.tag !== undefined) assertTag(r.tag, 'record tag')
    for (const [i, b] of (r.blobs ?? []).entries()) {
      assertDigest(b?.digest, `record blobs[${i}] digest`)
      if (typeof b.size !== 'number' || !Number.isSafeInteger(b.size) || b.size < 0)
        return `record blobs[${i}] size is not a byte count`
    }

    for (const [i, m] of (r.manifests ?? []).entries()) assertDigest(m?.digest, `record manifests[${i}] digest`)
  } catch (error) {
    return (error as Error).message
  }

  return null
}

function parseRecord(bytes: Buffer): BackupRecord | string {
  try {
    const r = JSON.parse(bytes.toString('utf8')) as Partial<BackupRecord>
    if (typeof r.digest !== 'string' || typeof r.repository !== 'string' || !Array.isArray(r.blobs)) {
      return 'record lacks digest, repository or blobs'
    }

    if (r.manifests !== undefined && !Array.isArray(r.manifests)) return 'record manifests is not a list'
    return recordProblem(r) ?? ({manifests: [], mediaType: '', tag: null, ...r} as BackupRecord)
  } catch (error) {
    return `record is not JSON: ${(error as Error).message}`
  }
}

/** Reads and parses an image's record; null (with the problem) when absent or unreadable. */
export async function readRecord(
  target: BackupStore,
  ref: ImageRef,
): Promise<{key: string; problem?: VerifyProblem; record: BackupRecord | null}> {
  const key = recordKey(target.prefix, ref.repository, ref.tag ?? ref.digest)
  const got = await withStore(target).getBytes(key)
  if (!got) return {key, problem: {detail: 'no backup record', key, kind: 'missing'}, record: null}
  const record = parseRecord(got.body)
  if (typeof record === 'string') return {key, problem: {detail: record, key, kind: 'record'}, record: null}
  return {key, record}
}

/**
 * Checks a backup without trusting its record alone: the manifests are re-downloaded and must hash to their
 * digests, the blob set is re-derived from them (and must equal the record's), and every blob object must
 * exist with the right size and the SHA-256 drc computed while streaming it in. S3 errors other than "not
 * found" throw (S3BackupError): an unreadable backup is not a failed one, the caller must not conclude either.
 * `opts.index`: index.json as read after the image's entry was written (verifying many, the caller reads it once).
 */
export async function verifyBackup(
  target: BackupStore,
  ref: ImageRef,
  opts: {concurrency?: number; index?: OciIndex} = {},
): Promise<VerifyResult> {
  const store = withStore(target)
  const {key: recKey, problem, record} = await readRecord(target, ref)
  const problems: VerifyProblem[] = problem ? [problem] : []
  const checked = {blobs: 0, manifests: 0}
  const done = (): VerifyResult => ({checked, problems, record, recordKey: recKey, verified: problems.length === 0})
  if (!record) return done()

  const loadManifest = async (digest: string): Promise<{body: Buffer; mediaType: string}> => {
    checked.manifests++
    return loadStored(target, digest)
  }

  let graphBlobs: Array<{digest: string; size: number}>
  try {
    const top = await loadManifest(record.digest)
    const graph = await walkImage({...top, digest: record.digest}, loadManifest, `${record.repository} backup`)
    graphBlobs = graph.blobs
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error
    problems.push(error.problem)
    // Without every manifest the blob set cannot be derived; still check the record's blobs for a full report.
    graphBlobs = record.blobs
  }

  const recorded = new Set(record.blobs.map((b) => b.digest))
  for (const b of graphBlobs) {
    if (!recorded.has(b.digest)) {
      problems.push({
        detail: `blob ${b.digest} is referenced by the manifests but not listed in the record`,
        digest: b.digest,
        key: recKey,
        kind: 'record',
      })
    }
  }

  const blobProblems = await mapLimit(graphBlobs, opts.concurrency ?? 8, async (b): Promise<null | VerifyProblem> => {
    const key = blobKey(target.prefix, b.digest)
    checked.blobs++
    const head = await store.head(key)
    if (!head) return {detail: 'blob object missing', digest: b.digest, key, kind: 'missing'}
    if (head.size !== b.size) {
      return {detail: `blob object has ${head.size} bytes, expected ${b.size}`, digest: b.digest, key, kind: 'size'}
    }

    const stored = head.metadata[SHA256_METADATA]
    if (stored !== b.digest.slice('sha256:'.length)) {
      return {
        detail: `blob object metadata sha256 is ${stored ?? 'absent'}, expected ${b.digest}`,
        digest: b.digest,
        key,
        kind: 'metadata',
      }
    }

    return null
  })
  problems.push(...blobProblems.filter((p): p is VerifyProblem => p !== null))
  const indexed = await indexProblem(target, record, opts.index)
  if (indexed) problems.push(indexed)
  return done()
}
