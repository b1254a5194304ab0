/* eslint-disable n/no-unsupported-features/node-builtins -- global fetch is available (unflagged) on Node 20, our floor */
/**
 * The minimum of the distribution API needed to put test images into a registry without Docker:
 * POST upload + PUT with digest (2.8 has no one-request monolithic upload), then the manifest.
 *
 * Tests of drc's code push through drc's own client (test/fixtures/push-images.ts). This raw pusher is kept on
 * purpose for what must not depend on that client: the tests of the harness itself (registry, Kubernetes)
 * and the health checks, which must be able to tell a broken registry from a broken client.
 */
import {createHash} from 'node:crypto'

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ')

export const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`

export async function pushBlob(
  url: string,
  repo: string,
  data: Buffer,
  headers: Record<string, string> = {},
): Promise<string> {
  const digest = sha256(data)
  const start = await fetch(`${url}/v2/${repo}/blobs/uploads/`, {headers, method: 'POST'})
  await start.arrayBuffer()
  if (start.status !== 202) throw new Error(`blob upload start for ${repo}: HTTP ${start.status}`)
  const location = new URL(start.headers.get('location')!, url)
  location.searchParams.set('digest', digest)
  const put = await fetch(location, {
    body: data,
    headers: {...headers, 'content-type': 'application/octet-stream'},
    method: 'PUT',
  })
  await put.arrayBuffer()
  if (put.status !== 201) throw new Error(`blob upload of ${digest} to ${repo}: HTTP ${put.status}`)
  return digest
}

export interface PushedImage {
  /** Digest of the manifest. */
  digest: string
  layers: Array<{digest: string; size: number}>
  manifest: string
}

/**
 * Pushes a Docker v2 schema2 image whose layers are `layers` (arbitrary bytes) under `repo:tag`, anonymously
 * (an authenticated push is test/health/helpers.ts `pushImage`).
 */
export async function pushImage(url: string, repo: string, tag: string, layers: Buffer[]): Promise<PushedImage> {
  const config = Buffer.from(
    JSON.stringify({architecture: 'amd64', os: 'linux', rootfs: {diff_ids: [], type: 'layers'}, tag}),
  )
  const configDigest = await pushBlob(url, repo, config)
  const pushed = []
  for (const layer of layers) {
    // eslint-disable-next-line no-await-in-loop
    pushed.push({digest: await pushBlob(url, repo, layer), size: layer.length})
  }

  const mediaType = 'application/vnd.docker.distribution.manifest.v2+json'
  const manifest = JSON.stringify({
    config: {digest: configDigest, mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length},
    layers: pushed.map((l) => ({...l, mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip'})),
    mediaType,
    schemaVersion: 2,
  })
  const response = await fetch(`${url}/v2/${repo}/manifests/${tag}`, {
    body: manifest,
    headers: {'content-type': mediaType},
    method: 'PUT',
  })
  await response.arrayBuffer()
  if (response.status !== 201) throw new Error(`manifest PUT ${repo}:${tag}: HTTP ${response.status}`)
  return {digest: response.headers.get('docker-content-digest') ?? sha256(manifest), layers: pushed, manifest}
}

export async function deleteManifest(
  url: string,
  repo: string,
  digest: string,
): Promise<{code?: string; status: number}> {
  const response = await fetch(`${url}/v2/${repo}/manifests/${digest}`, {method: 'DELETE'})
  const text = await response.text()
  let code: string | undefined
  try {
    code = (JSON.parse(text) as {errors?: Array<{code: string}>}).errors?.[0]?.code
  } catch {
    // 202 has an empty body
  }

  return {code, status: response.status}
}
