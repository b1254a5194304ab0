import {assertDigest} from './digest.js'

/** Manifest media types drc understands; the Accept list always names all four (pitfall P3). */
export const MediaType = {
  DOCKER_LIST: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DOCKER_MANIFEST: 'application/vnd.docker.distribution.manifest.v2+json',
  OCI_INDEX: 'application/vnd.oci.image.index.v1+json',
  OCI_MANIFEST: 'application/vnd.oci.image.manifest.v1+json',
} as const

export const MANIFEST_ACCEPT = [
  MediaType.OCI_INDEX,
  MediaType.OCI_MANIFEST,
  MediaType.DOCKER_LIST,
  MediaType.DOCKER_MANIFEST,
].join(', ')

export interface Descriptor {
  digest: string
  mediaType?: string
  platform?: {architecture?: string; os?: string; variant?: string}
  size: number
}

/** A parsed manifest: either an index (children) or an image manifest (config + layers). */
export type ParsedManifest =
  | {config: Descriptor; kind: 'image'; layers: Descriptor[]; mediaType: string}
  | {kind: 'index'; manifests: Descriptor[]; mediaType: string}

export function isIndexType(mediaType: string | undefined): boolean {
  return mediaType === MediaType.OCI_INDEX || mediaType === MediaType.DOCKER_LIST
}

function descriptor(raw: unknown, where: string): Descriptor {
  const d = raw as null | Partial<Descriptor>
  if (!d || typeof d.digest !== 'string' || typeof d.size !== 'number') {
    throw new TypeError(`${where}: descriptor without digest/size`)
  }

  return {digest: assertDigest(d.digest, `${where} digest`), mediaType: d.mediaType, platform: d.platform, size: d.size}
}

/**
 * Parses a manifest body. The registry's Content-Type wins over the body's mediaType field
 * (OCI manifests may omit it); anything else (schema 1, artifacts without layers) is an error naming `ref`.
 */
export function parseManifest(body: Buffer | string, contentType: string | undefined, ref: string): ParsedManifest {
  let json: Record<string, unknown>
  try {
    json = JSON.parse(typeof body === 'string' ? body : body.toString('utf8')) as Record<string, unknown>
  } catch (error) {
    throw new TypeError(`manifest of ${ref} is not valid JSON: ${(error as Error).message}`)
  }

  const type = (contentType?.split(';')[0].trim() || (json.mediaType as string | undefined)) ?? ''
  if (isIndexType(type) || (Array.isArray(json.manifests) && !json.config)) {
    const manifests = (json.manifests as undefined | unknown[]) ?? []
    return {kind: 'index', manifests: manifests.map((m, i) => descriptor(m, `${ref} manifests[${i}]`)), mediaType: type}
  }

  if (json.config && Array.isArray(json.layers)) {
    return {
      config: descriptor(json.config, `${ref} config`),
      kind: 'image',
      layers: (json.layers as unknown[]).map((l, i) => descriptor(l, `${ref} layers[${i}]`)),
      mediaType: type,
    }
  }

  throw new TypeError(`manifest of ${ref} has unsupported media type "${type}" (schema 1 or an unknown artifact)`)
}
