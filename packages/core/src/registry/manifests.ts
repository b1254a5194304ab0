/** Manifest requests: GET (verified against every digest it claims), HEAD, PUT, DELETE by digest. */
import {actualDigest, assertDigest, hashOf, InvalidReferenceError, parseDigest} from './digest.js'
import {DigestMismatchError, RegistryError, type RequestSubject} from './errors.js'
import {MANIFEST_ACCEPT, type ParsedManifest, parseManifest} from './media-types.js'
import {type Call, header, type RegistryTransport, subjectOf} from './transport.js'

export interface ManifestHead {
  digest: string
  mediaType: string
  size: number
}

export interface ManifestResult extends ManifestHead {
  body: Buffer
  manifest: ParsedManifest
}

export function sha256Digest(data: Buffer | string): string {
  return hashOf(data, 'sha256')
}

/** Checks `body` against a digest (validated first, `source` names where it came from); no algorithm is skipped. */
function verifyDigest(body: Buffer, expected: string, source: string, subject: RequestSubject): string {
  const digest = parseDigest(expected, source)
  const actual = actualDigest(body, digest)
  if (actual !== digest.value) throw new DigestMismatchError(subject, expected, actual)
  return digest.value
}

function what(repository: string, reference: string): string {
  return `${repository}${reference.includes(':') ? '@' : ':'}${reference}`
}

function readCall(method: 'GET' | 'HEAD', repository: string, reference: string): Call {
  return {
    access: 'pull',
    expect: [200],
    headers: {accept: MANIFEST_ACCEPT},
    method,
    path: `/v2/${repository}/manifests/${reference}`,
    reference,
    repository,
  }
}

/** Deletes a manifest by digest (every tag on it disappears: plan at the digest level, pitfall P1). */
export async function deleteManifest(t: RegistryTransport, repository: string, digest: string): Promise<void> {
  if (!digest.includes(':')) {
    throw new RegistryError(`refusing to delete ${repository}:${digest} by tag; resolve it to a digest first`, {
      method: 'DELETE',
      reference: digest,
      repository,
      url: t.baseUrl,
    })
  }

  assertDigest(digest, `digest to delete in ${repository}`)

  await t.call({
    access: 'delete',
    expect: [202],
    method: 'DELETE',
    path: `/v2/${repository}/manifests/${digest}`,
    reference: digest,
    repository,
  })
}

export async function getManifest(
  t: RegistryTransport,
  repository: string,
  reference: string,
): Promise<ManifestResult> {
  const call = readCall('GET', repository, reference)
  const res = await t.call(call)
  const subject = subjectOf(call)
  const ref = what(repository, reference)
  const claimed = header(res.headers, 'docker-content-digest')
  if (reference.includes(':')) verifyDigest(res.body, reference, `digest requested for ${ref}`, subject)
  // A registry header is outside input: validated (grammar, allowed algorithm) and verified before any use.
  const checked =
    claimed === undefined
      ? undefined
      : verifyDigest(res.body, claimed, `Docker-Content-Digest of GET ${ref} (${t.baseUrl})`, subject)
  const digest = reference.includes(':') ? reference : (checked ?? sha256Digest(res.body))
  const mediaType = header(res.headers, 'content-type') ?? ''
  let manifest: ParsedManifest
  try {
    manifest = parseManifest(res.body, mediaType, `manifest of ${ref} (${t.baseUrl})`)
  } catch (error) {
    if (error instanceof InvalidReferenceError) throw error
    throw new RegistryError((error as Error).message, subject, {cause: error})
  }

  return {body: res.body, digest, manifest, mediaType: manifest.mediaType, size: res.body.length}
}

export async function headManifest(t: RegistryTransport, repository: string, reference: string): Promise<ManifestHead> {
  const call = readCall('HEAD', repository, reference)
  const res = await t.call(call)
  const claimed = header(res.headers, 'docker-content-digest')
  if (claimed !== undefined)
    assertDigest(claimed, `Docker-Content-Digest of HEAD ${what(repository, reference)} (${t.baseUrl})`)
  if (claimed !== undefined && reference.includes(':') && claimed !== reference) {
    throw new DigestMismatchError(subjectOf(call), reference, claimed)
  }

  const digest = claimed ?? (reference.includes(':') ? reference : undefined)
  if (!digest) {
    throw new RegistryError(`registry gave no Docker-Content-Digest for ${repository}:${reference}`, subjectOf(call), {
      suggestions: ['the registry or a proxy strips the header; drc needs it to plan at the digest level'],
    })
  }

  return {
    digest,
    mediaType: header(res.headers, 'content-type') ?? '',
    size: Number(header(res.headers, 'content-length') ?? 0),
  }
}

export async function putManifest(
  t: RegistryTransport,
  {reference, repository}: {reference: string; repository: string},
  body: Buffer,
  mediaType: string,
): Promise<string> {
  const res = await t.call({
    access: 'push',
    body,
    expect: [201],
    headers: {'content-type': mediaType},
    method: 'PUT',
    path: `/v2/${repository}/manifests/${reference}`,
    reference,
    repository,
  })
  const claimed = header(res.headers, 'docker-content-digest')
  return claimed === undefined
    ? sha256Digest(body)
    : assertDigest(claimed, `Docker-Content-Digest of PUT ${what(repository, reference)} (${t.baseUrl})`)
}
