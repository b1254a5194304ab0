import type {BlobEntry, ManifestEntry} from './types.js'

import {type Descriptor, parseManifest} from '../registry/media-types.js'

/** Layers the registry does not hold (Windows foreign layers, OCI non-distributable): nothing to copy. */
export function isForeignLayer(d: Descriptor): boolean {
  return /foreign|nondistributable/.test(d.mediaType ?? '')
}

/** A manifest's bytes, by digest, from wherever they come from (the registry or the backup). */
export type FetchManifest = (digest: string) => Promise<{body: Buffer; mediaType: string}>

export interface ImageGraph {
  blobs: BlobEntry[]
  /** Top manifest first, then children depth first; each digest once. */
  manifests: Array<ManifestEntry & {body: Buffer}>
}

/** Walks a manifest and (for indexes) its children, collecting every manifest and every blob once. */
export async function walkImage(
  top: {body: Buffer; digest: string; mediaType: string},
  fetchChild: FetchManifest,
  ref: string,
): Promise<ImageGraph> {
  const manifests: ImageGraph['manifests'] = []
  const blobs = new Map<string, number>()
  const seen = new Set<string>()
  const visit = async (m: {body: Buffer; digest: string; mediaType: string}): Promise<void> => {
    if (seen.has(m.digest)) return
    seen.add(m.digest)
    const parsed = parseManifest(m.body, m.mediaType, `${ref} (${m.digest})`)
    manifests.push({body: m.body, digest: m.digest, mediaType: parsed.mediaType || m.mediaType, size: m.body.length})
    if (parsed.kind === 'index') {
      for (const child of parsed.manifests) {
        // Sequential on purpose: indexes have a handful of children, and order keeps the record stable.
        // eslint-disable-next-line no-await-in-loop
        const c = await fetchChild(child.digest)
        // eslint-disable-next-line no-await-in-loop
        await visit({...c, digest: child.digest})
      }

      return
    }

    for (const d of [parsed.config, ...parsed.layers]) {
      if (!isForeignLayer(d)) blobs.set(d.digest, d.size)
    }
  }

  await visit(top)
  return {blobs: [...blobs].map(([digest, size]) => ({digest, size})), manifests}
}
