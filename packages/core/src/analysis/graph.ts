/**
 * The registry-wide blob graph: tagged manifests (→ index children) → config + layers, with sizes.
 *
 * The unit of storage is a *revision*: a manifest digest linked into one repository. That is what
 * `docker-registry garbage-collect` marks from: every revision marks its own manifest blob and what the manifest
 * references (an index its children, an image manifest its config and layers). So a blob survives GC iff some
 * remaining revision references it, and `freedBytes(set)` counts a blob iff every revision referencing it goes.
 * Reference counts are computed once (`refCount`), and each query only touches the revisions it deletes, so the
 * whole analysis is linear in the size of the graph.
 */

export interface BlobRef {
  digest: string
  size: number
}

export interface ManifestNode {
  /** Image manifests: the config blob. */
  config?: BlobRef
  digest: string
  kind: 'image' | 'index'
  /** Image manifests: layers in order (a layer may repeat). */
  layers?: BlobRef[]
  /** Indexes: child manifests. */
  manifests?: Array<BlobRef & {platform?: string}>
  mediaType: string
  /** Bytes of the manifest itself (it is a blob too). */
  size: number
}

/** Selects an image by tag, or a revision by digest. */
export type ImageSelector = {digest: string; repository: string} | {repository: string; tag: string}

export interface Revision {
  children: string[]
  digest: string
  key: string
  repository: string
  tags: string[]
}

export interface FreedResult {
  /** Blobs whose last reference goes. */
  blobs: number
  bytes: number
  /** Revisions to delete, in a safe order (an index before its children). */
  deletes: Array<{digest: string; repository: string}>
  /** Selected tags whose digest is kept because another tag outside the set points at it (pitfall P1). */
  keptBecauseOfOtherTags: Array<{digest: string; otherTags: string[]; repository: string; tag: string}>
  /** Selected revisions kept because an index outside the set lists them. */
  keptBecauseReferenced: Array<{digest: string; repository: string}>
  /** Selectors that matched nothing. */
  missing: ImageSelector[]
}

export interface ImageSize {
  digest: string
  kind: 'image' | 'index'
  layers: number
  repository: string
  /** total − unique */
  sharedBytes: number
  tags: string[]
  /** Every distinct blob the image needs: manifests, configs, layers. */
  totalBytes: number
  /** Bytes freed by deleting this image alone. */
  uniqueBytes: number
}

export interface LayerInfo {
  digest: string
  /** Distinct image manifests (revisions) using the layer. */
  refCount: number
  size: number
  /** `repository:tag` of every tagged image using it (through an index too). */
  tags: string[]
}

export interface SummaryStats {
  avg_layers_per_image: number
  avg_ref_count: number
  shared_layers: number
  shared_size_bytes: number
  single_use_layers: number
  single_use_size_bytes: number
  total_blobs: number
  /** Tagged manifests (two tags on one digest count once). */
  total_images: number
  total_layers: number
  /** Sum of distinct layers. */
  total_size_bytes: number
  /** Every distinct blob referenced: manifests, configs, layers. */
  total_stored_bytes: number
  total_tags: number
}

const key = (repository: string, digest: string): string => `${repository}@${digest}`
const sum = (ls: LayerInfo[]): number => ls.reduce((n, l) => n + l.size, 0)
const round2 = (n: number): number => Math.round(n * 100) / 100

export class BlobGraph {
  private built = false
  private readonly manifests = new Map<string, ManifestNode>()
  /** How many index revisions (same repository) list a revision as a child, plus one if it is tagged. */
  private readonly parents = new Map<string, number>()
  private readonly refCount = new Map<string, number>()
  private readonly revisions = new Map<string, Revision>()
  private readonly sizes = new Map<string, number>()
  private readonly tagIndex = new Map<string, string>()

  addManifest(node: ManifestNode): void {
    this.manifests.set(node.digest, node)
  }

  /** Records `repository:tag → digest`; the manifest (and an index's children) must be added too. */
  addTag(repository: string, tag: string, digest: string): void {
    this.built = false
    const k = key(repository, digest)
    const rev = this.revisions.get(k) ?? {children: [], digest, key: k, repository, tags: []}
    if (!rev.tags.includes(tag)) rev.tags.push(tag)
    this.revisions.set(k, rev)
    this.tagIndex.set(`${repository}:${tag}`, k)
  }

  /** Bytes freed by deleting `selection`, the way GC would count them after the deletes it lists. */
  freedBytes(selection: readonly ImageSelector[]): FreedResult {
    this.build()
    const result: FreedResult = {
      blobs: 0,
      bytes: 0,
      deletes: [],
      keptBecauseOfOtherTags: [],
      keptBecauseReferenced: [],
      missing: [],
    }
    const roots = this.selectRoots(selection, result)
    const queue = this.cascadeDeletes(roots)
    const deleted = new Set(queue)
    for (const k of queue) {
      const rev = this.revisions.get(k)!
      result.deletes.push({digest: rev.digest, repository: rev.repository})
    }

    for (const k of roots) {
      if (deleted.has(k)) continue
      const rev = this.revisions.get(k)!
      result.keptBecauseReferenced.push({digest: rev.digest, repository: rev.repository})
    }

    this.countFreedBlobs(queue, result)
    return result
  }

  /** Tagged images with total, unique (freed alone) and shared sizes; two tags on one digest are one image. */
  imageSizes(): ImageSize[] {
    this.build()
    const out: ImageSize[] = []
    for (const rev of this.revisions.values()) {
      if (rev.tags.length === 0) continue
      const blobs = new Set<string>()
      let layers = 0
      // eslint-disable-next-line unicorn/consistent-function-scoping -- closes over blobs/layers of this image
      const visit = (r: Revision): void => {
        for (const b of this.blobsOf(r)) blobs.add(b)
        layers += this.manifests.get(r.digest)?.layers?.length ?? 0
        for (const c of r.children) visit(this.revisions.get(c)!)
      }

      visit(rev)
      let totalBytes = 0
      for (const b of blobs) totalBytes += this.sizes.get(b) ?? 0
      const uniqueBytes = this.freedBytes([{digest: rev.digest, repository: rev.repository}]).bytes
      out.push({
        digest: rev.digest,
        kind: this.manifests.get(rev.digest)?.kind ?? 'image',
        layers,
        repository: rev.repository,
        sharedBytes: totalBytes - uniqueBytes,
        tags: [...rev.tags].sort(),
        totalBytes,
        uniqueBytes,
      })
    }

    return out
  }

  /** Layers with registry-wide reference counts and the tags that use them. */
  layers(): LayerInfo[] {
    this.build()
    const info = new Map<string, LayerInfo>()
    const walk = (r: Revision, tagNames: string[]): void => {
      const m = this.manifests.get(r.digest)
      for (const l of new Set(m?.layers?.map((x) => x.digest))) {
        const li = info.get(l) ?? {digest: l, refCount: 0, size: this.sizes.get(l) ?? 0, tags: []}
        li.tags.push(...tagNames)
        info.set(l, li)
      }

      for (const c of r.children) walk(this.revisions.get(c)!, tagNames)
    }

    for (const rev of this.revisions.values()) {
      const m = this.manifests.get(rev.digest)
      for (const l of new Set(m?.layers?.map((x) => x.digest))) {
        const li = info.get(l) ?? {digest: l, refCount: 0, size: this.sizes.get(l) ?? 0, tags: []}
        li.refCount++
        info.set(l, li)
      }

      if (rev.tags.length > 0) {
        const names = rev.tags.map((t) => `${rev.repository}:${t}`)
        for (const l of new Set(m?.layers?.map((x) => x.digest))) info.get(l)!.tags.push(...names)
        for (const c of rev.children) walk(this.revisions.get(c)!, names)
      }
    }

    return [...info.values()]
  }

  /** Every revision (tagged images and index children). */
  listRevisions(): Revision[] {
    this.build()
    return [...this.revisions.values()]
  }

  manifest(digest: string): ManifestNode | undefined {
    return this.manifests.get(digest)
  }

  /** Domain-spec §2.3 statistics, plus whole-storage totals. */
  summary(): SummaryStats {
    const layers = this.layers()
    const images = [...this.revisions.values()].filter((r) => r.tags.length > 0)
    const imageManifests = [...this.revisions.values()].filter((r) => this.manifests.get(r.digest)?.kind === 'image')
    const layerMappings = imageManifests.reduce((n, r) => n + (this.manifests.get(r.digest)?.layers?.length ?? 0), 0)
    let stored = 0
    for (const b of this.refCount.keys()) stored += this.sizes.get(b) ?? 0
    const single = layers.filter((l) => l.refCount === 1)
    const shared = layers.filter((l) => l.refCount > 1)
    return {
      avg_layers_per_image: imageManifests.length === 0 ? 0 : round2(layerMappings / imageManifests.length),
      avg_ref_count: layers.length === 0 ? 0 : round2(layers.reduce((n, l) => n + l.refCount, 0) / layers.length),
      shared_layers: shared.length,
      shared_size_bytes: sum(shared),
      single_use_layers: single.length,
      single_use_size_bytes: sum(single),
      total_blobs: this.refCount.size,
      total_images: images.length,
      total_layers: layers.length,
      total_size_bytes: sum(layers),
      total_stored_bytes: stored,
      total_tags: images.reduce((n, r) => n + r.tags.length, 0),
    }
  }

  /** Distinct blobs a revision keeps alive: its manifest, and its config + layers or its children. */
  private blobsOf(rev: Revision): Set<string> {
    const m = this.manifests.get(rev.digest)
    const out = new Set<string>([rev.digest])
    if (m?.config) out.add(m.config.digest)
    for (const l of m?.layers ?? []) out.add(l.digest)
    for (const c of m?.manifests ?? []) out.add(c.digest)
    return out
  }

  /** Creates child revisions for indexes and computes reference counts; idempotent. */
  private build(): void {
    if (this.built) return
    this.refCount.clear()
    this.parents.clear()
    this.sizes.clear()
    for (const rev of this.revisions.values()) if (rev.tags.length === 0) this.revisions.delete(rev.key)
    for (const rev of this.revisions.values()) rev.children = []
    const pending = [...this.revisions.values()]
    for (const r of pending) this.parents.set(r.key, 1)
    while (pending.length > 0) {
      const rev = pending.pop()!
      const m = this.manifests.get(rev.digest)
      if (!m) throw new Error(`blob graph: manifest ${rev.digest} of ${rev.repository} was never added`)
      this.sizes.set(m.digest, m.size)
      if (m.config) this.sizes.set(m.config.digest, m.config.size)
      for (const l of m.layers ?? []) this.sizes.set(l.digest, l.size)
      for (const c of m.manifests ?? []) {
        this.sizes.set(c.digest, c.size)
        const ck = key(rev.repository, c.digest)
        if (!rev.children.includes(ck)) rev.children.push(ck)
        let child = this.revisions.get(ck)
        if (!child) {
          child = {children: [], digest: c.digest, key: ck, repository: rev.repository, tags: []}
          this.revisions.set(ck, child)
          this.parents.set(ck, 0)
          pending.push(child)
        }

        this.parents.set(ck, (this.parents.get(ck) ?? 0) + 1)
      }
    }

    for (const rev of this.revisions.values()) {
      for (const b of this.blobsOf(rev)) this.refCount.set(b, (this.refCount.get(b) ?? 0) + 1)
    }

    this.built = true
  }

  /**
   * Deletes roots, then children whose every parent (and tag) is gone; breadth-first keeps index before child.
   * A selected revision still listed by a kept index stays (pitfall P2); it goes only if that index goes too.
   * Returns the deleted revision keys in delete order.
   */
  private cascadeDeletes(roots: ReadonlySet<string>): string[] {
    const remaining = new Map<string, number>()
    const deleted = new Set<string>()
    const queue: string[] = []
    for (const k of roots) {
      const left = this.parents.get(k)! - (this.revisions.get(k)!.tags.length > 0 ? 1 : 0)
      remaining.set(k, left)
      if (left === 0) {
        deleted.add(k)
        queue.push(k)
      }
    }

    for (let i = 0; i < queue.length; i++) {
      for (const child of this.revisions.get(queue[i])!.children) {
        const left = (remaining.get(child) ?? this.parents.get(child)!) - 1
        remaining.set(child, left)
        if (left === 0 && !deleted.has(child)) {
          deleted.add(child)
          queue.push(child)
        }
      }
    }

    return queue
  }

  /** Adds to `result` every blob whose last referencing revision is in `deleted`. */
  private countFreedBlobs(deleted: readonly string[], result: FreedResult): void {
    const hits = new Map<string, number>()
    for (const k of deleted) {
      for (const b of this.blobsOf(this.revisions.get(k)!)) hits.set(b, (hits.get(b) ?? 0) + 1)
    }

    for (const [b, n] of hits) {
      if (n === this.refCount.get(b)) {
        result.blobs++
        result.bytes += this.sizes.get(b) ?? 0
      }
    }
  }

  /**
   * Resolves selectors to revisions to delete. A tag selects its revision only when every tag of it is selected
   * (pitfall P1); otherwise it is reported in `keptBecauseOfOtherTags`. Unknown selectors go to `missing`.
   */
  private selectRoots(selection: readonly ImageSelector[], result: FreedResult): Set<string> {
    const selectedTags = new Map<string, Set<string>>()
    const roots = new Set<string>()
    for (const s of selection) {
      const k = 'tag' in s ? this.tagIndex.get(`${s.repository}:${s.tag}`) : key(s.repository, s.digest)
      if (!k || !this.revisions.has(k)) {
        result.missing.push(s)
      } else if ('tag' in s) {
        const set = selectedTags.get(k) ?? new Set()
        set.add(s.tag)
        selectedTags.set(k, set)
      } else {
        roots.add(k)
      }
    }

    for (const [k, tags] of selectedTags) {
      const rev = this.revisions.get(k)!
      if (tags.size === rev.tags.length) {
        roots.add(k)
        continue
      }

      const otherTags = rev.tags.filter((t) => !tags.has(t))
      for (const tag of tags)
        result.keptBecauseOfOtherTags.push({digest: rev.digest, otherTags, repository: rev.repository, tag})
    }

    return roots
  }
}
