/** Blob requests: read as a stream, size, and the two upload forms (buffer with optional mount, stream). */
import type {Readable} from 'node:stream'

import {assertDigest} from './digest.js'
import {RegistryError} from './errors.js'
import {header, type RegistryTransport} from './transport.js'

/** Which blob, in which repository. */
export interface BlobRef {
  digest: string
  repository: string
}

interface OpenUpload {
  /** The upload's Location, as the registry gave it (DELETE there cancels it). */
  location: string
  /** Location with `?digest=`: the PUT that completes the upload. */
  target: URL
}

/** POST …/blobs/uploads/: null when the registry answered 201 (mounted, nothing to send), else the open upload. */
async function openUpload(
  t: RegistryTransport,
  {digest, repository}: BlobRef,
  query: string,
  expect: number[],
): Promise<null | OpenUpload> {
  const start = await t.call({
    access: 'push',
    expect,
    method: 'POST',
    path: `/v2/${repository}/blobs/uploads/${query}`,
    reference: digest,
    repository,
  })
  if (start.status === 201) return null
  const location = header(start.headers, 'location')
  if (!location)
    throw new RegistryError(`registry gave no upload Location for ${repository}`, {
      method: 'POST',
      repository,
      url: t.baseUrl,
    })
  const target = new URL(location, t.baseUrl)
  target.searchParams.set('digest', digest)
  return {location, target}
}

/** Blob as a stream; the caller must consume or destroy it. */
export async function getBlob(
  t: RegistryTransport,
  repository: string,
  digest: string,
): Promise<{size: number; stream: NodeJS.ReadableStream}> {
  assertDigest(digest, `blob to read from ${repository}`)
  const res = await t.call(
    {
      access: 'pull',
      expect: [200],
      method: 'GET',
      path: `/v2/${repository}/blobs/${digest}`,
      reference: digest,
      repository,
    },
    true,
  )
  return {size: Number(header(res.headers, 'content-length') ?? -1), stream: res.stream!}
}

/** Size of a blob, or null when the repository does not have it. */
export async function headBlob(t: RegistryTransport, repository: string, digest: string): Promise<null | number> {
  assertDigest(digest, `blob to look up in ${repository}`)
  const res = await t.call({
    access: 'pull',
    expect: [200, 404],
    method: 'HEAD',
    path: `/v2/${repository}/blobs/${digest}`,
    reference: digest,
    repository,
  })
  return res.status === 404 ? null : Number(header(res.headers, 'content-length') ?? 0)
}

/**
 * Uploads a blob (POST then PUT ?digest=; 2.8 has no single-request upload). With `mountFrom`, first asks
 * for a cross-repository mount; when the registry mounts it (201) no bytes are sent.
 */
export async function uploadBlob(
  t: RegistryTransport,
  {digest, repository}: BlobRef,
  data: Buffer,
  mountFrom?: string,
): Promise<'mounted' | 'uploaded'> {
  assertDigest(digest, `blob to upload to ${repository}`)
  const query = mountFrom ? `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(mountFrom)}` : ''
  const upload = await openUpload(t, {digest, repository}, query, [201, 202])
  if (!upload) return 'mounted'
  await t.call({
    access: 'push',
    body: data,
    expect: [201],
    headers: {'content-type': 'application/octet-stream'},
    method: 'PUT',
    path: upload.target.toString(),
    reference: digest,
    repository,
  })
  return 'uploaded'
}

/**
 * Uploads a blob from a stream of exactly `size` bytes: POST opens the upload, one PUT streams the body with
 * Content-Length and `?digest=` (distribution 2.8 has no monolithic POST). The stream is read once, so nothing
 * is retried; on any failure the open upload is cancelled (DELETE), so the registry never commits partial data.
 */
export async function uploadBlobStream(
  t: RegistryTransport,
  {digest, repository}: BlobRef,
  size: number,
  body: Readable,
): Promise<void> {
  assertDigest(digest, `blob to upload to ${repository}`)
  // Only 202 is an answer here (no mount was asked for), so the upload is always open.
  const {location, target} = (await openUpload(t, {digest, repository}, '', [202]))!
  try {
    await t.call({
      access: 'push',
      body,
      expect: [201],
      headers: {'content-length': String(size), 'content-type': 'application/octet-stream'},
      method: 'PUT',
      once: true,
      path: target.toString(),
      reference: digest,
      repository,
    })
  } catch (error) {
    body.destroy()
    const cancel = new URL(location, t.baseUrl).toString()
    await t.call({access: 'push', expect: [204, 404], method: 'DELETE', path: cancel, repository}).catch(() => {})
    throw error
  }
}
