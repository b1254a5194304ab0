import {expect} from 'chai'

import {BlobGraph, type ImageSelector} from '../../packages/core/src/analysis/graph.js'

/**
 * Unit tests of the freed-bytes algorithm: the shared-layer scenarios of the predecessor's
 * tests/test_integration_shared_layers.py (domain-spec §5), plus what the predecessor got wrong
 * (two tags on one digest, index children, manifests and configs as blobs).
 * Manifests and configs have size 0 in the predecessor scenarios, so the expected numbers are theirs.
 */
const L: Record<string, number> = {A: 1000, B: 2000, C: 3000, D: 4000, E: 5000, F: 6000, G: 7000}

function graphOf(images: Record<string, Array<[string, number]>>): BlobGraph {
  const g = new BlobGraph()
  for (const [name, layers] of Object.entries(images)) {
    const digest = `sha256:m-${name}`
    g.addManifest({
      config: {digest: `sha256:c-${name}`, size: 0},
      digest,
      kind: 'image',
      layers: layers.map(([d, size]) => ({digest: `sha256:l-${d}`, size})),
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      size: 0,
    })
    g.addTag('r/environment', name, digest)
  }

  return g
}

const sel = (...tags: string[]): ImageSelector[] => tags.map((tag) => ({repository: 'r/environment', tag}))
const letters = (s: string): Array<[string, number]> => [...s].map((c) => [c, L[c]])

describe('blob graph', () => {
  describe('freed bytes (shared-layer scenarios)', () => {
    it('one image with unique layers 1000+2000+3000 frees 6000', () => {
      const g = graphOf({
        i1: [
          ['x', 1000],
          ['y', 2000],
          ['z', 3000],
        ],
      })
      expect(g.freedBytes(sel('i1')).bytes).to.equal(6000)
    })

    it('two images without sharing, deleted together, free 10000', () => {
      const g = graphOf({
        i1: [
          ['a', 1000],
          ['b', 2000],
        ],
        i2: [
          ['c', 3000],
          ['d', 4000],
        ],
      })
      expect(g.freedBytes(sel('i1', 'i2')).bytes).to.equal(10_000)
    })

    it('two images on a shared 5000 base: 1000, 2000, and 8000 together', () => {
      const g = graphOf({
        i1: [
          ['base', 5000],
          ['u1', 1000],
        ],
        i2: [
          ['base', 5000],
          ['u2', 2000],
        ],
      })
      expect(g.freedBytes(sel('i1')).bytes).to.equal(1000)
      expect(g.freedBytes(sel('i2')).bytes).to.equal(2000)
      expect(g.freedBytes(sel('i1', 'i2')).bytes).to.equal(8000)
      // the sum of individual sizes understates what a joint delete frees
      expect(g.freedBytes(sel('i1')).bytes + g.freedBytes(sel('i2')).bytes).to.be.lessThan(8000)
    })

    it('three images on a shared base: two free 3000, all free 11000', () => {
      const g = graphOf({
        i1: [
          ['base', 5000],
          ['u1', 1000],
        ],
        i2: [
          ['base', 5000],
          ['u2', 2000],
        ],
        i3: [
          ['base', 5000],
          ['u3', 3000],
        ],
      })
      expect(g.freedBytes(sel('i1', 'i2')).bytes).to.equal(3000)
      expect(g.freedBytes(sel('i1', 'i2', 'i3')).bytes).to.equal(11_000)
    })

    it('A,B,C / A,B,D / A,E: 3000, 9000, 15000', () => {
      const g = graphOf({i1: letters('ABC'), i2: letters('ABD'), i3: letters('AE')})
      expect(g.freedBytes(sel('i1')).bytes).to.equal(3000)
      expect(g.freedBytes(sel('i1', 'i2')).bytes).to.equal(9000)
      expect(g.freedBytes(sel('i1', 'i2', 'i3')).bytes).to.equal(15_000)
    })

    it('A,B,C / A,B,D / A,C,E / F,G: 13000, 15000, 28000', () => {
      const g = graphOf({i1: letters('ABC'), i2: letters('ABD'), i3: letters('ACE'), i4: letters('FG')})
      expect(g.freedBytes(sel('i1', 'i4')).bytes).to.equal(13_000)
      expect(g.freedBytes(sel('i1', 'i2', 'i3')).bytes).to.equal(15_000)
      expect(g.freedBytes(sel('i1', 'i2', 'i3', 'i4')).bytes).to.equal(28_000)
    })

    it('empty set frees 0; a nonexistent image frees 0 and is reported missing; duplicates count once', () => {
      const g = graphOf({i1: letters('AB')})
      expect(g.freedBytes([]).bytes).to.equal(0)
      const r = g.freedBytes(sel('ghost'))
      expect(r.bytes).to.equal(0)
      expect(r.missing).to.deep.equal(sel('ghost'))
      expect(g.freedBytes(sel('i1', 'i1')).bytes).to.equal(3000)
    })

    it('a layer of two images has refCount 2: either alone frees 0 of it, both free it', () => {
      const g = graphOf({i1: [['s', 700]], i2: [['s', 700]]})
      expect(g.layers().find((l) => l.digest === 'sha256:l-s')?.refCount).to.equal(2)
      expect(g.freedBytes(sel('i1')).bytes).to.equal(0)
      expect(g.freedBytes(sel('i2')).bytes).to.equal(0)
      expect(g.freedBytes(sel('i1', 'i2')).bytes).to.equal(700)
    })

    it('keeps layer order and frees 6000 for the image', () => {
      const g = graphOf({
        i1: [
          ['z', 3000],
          ['x', 1000],
          ['y', 2000],
        ],
      })
      expect(g.manifest('sha256:m-i1')?.layers?.map((l) => l.digest)).to.deep.equal([
        'sha256:l-z',
        'sha256:l-x',
        'sha256:l-y',
      ])
      expect(g.freedBytes(sel('i1')).bytes).to.equal(6000)
    })

    it('per-image total/unique/shared and summary statistics', () => {
      const g = graphOf({i1: letters('ABC'), i2: letters('ABD'), i3: letters('AE')})
      const sizes = Object.fromEntries(g.imageSizes().map((s) => [s.tags[0], s]))
      expect(sizes.i1).to.include({sharedBytes: 3000, totalBytes: 6000, uniqueBytes: 3000})
      expect(sizes.i3).to.include({sharedBytes: 1000, totalBytes: 6000, uniqueBytes: 5000})
      const s = g.summary()
      expect(s).to.include({
        shared_layers: 2,
        shared_size_bytes: 3000,
        single_use_layers: 3,
        single_use_size_bytes: 12_000,
        total_images: 3,
        total_layers: 5,
        total_size_bytes: 15_000,
      })
      expect(s.avg_layers_per_image).to.equal(2.67)
      expect(s.avg_ref_count).to.equal(1.6) // A×3, B×2, C, D, E → 8/5
    })
  })

  describe('digests, tags, indexes and repositories', () => {
    const IMG = 'application/vnd.docker.distribution.manifest.v2+json'

    it('two tags on one digest are one image; deleting one tag frees nothing and says why', () => {
      const g = new BlobGraph()
      g.addManifest({
        config: {digest: 'sha256:c', size: 10},
        digest: 'sha256:m',
        kind: 'image',
        layers: [{digest: 'sha256:l', size: 100}],
        mediaType: IMG,
        size: 5,
      })
      g.addTag('r', 'v1', 'sha256:m')
      g.addTag('r', 'latest', 'sha256:m')
      expect(g.imageSizes()).to.have.length(1)
      const one = g.freedBytes([{repository: 'r', tag: 'v1'}])
      expect(one.bytes).to.equal(0)
      expect(one.deletes).to.deep.equal([])
      expect(one.keptBecauseOfOtherTags).to.deep.equal([
        {digest: 'sha256:m', otherTags: ['latest'], repository: 'r', tag: 'v1'},
      ])
      const both = g.freedBytes([
        {repository: 'r', tag: 'v1'},
        {repository: 'r', tag: 'latest'},
      ])
      expect(both.bytes).to.equal(115) // manifest + config + layer
      expect(both.deletes).to.deep.equal([{digest: 'sha256:m', repository: 'r'}])
    })

    it('an index protects its children; deleting the index deletes them after it', () => {
      const g = new BlobGraph()
      for (const arch of ['amd64', 'arm64']) {
        g.addManifest({
          config: {digest: `sha256:c-${arch}`, size: 10},
          digest: `sha256:m-${arch}`,
          kind: 'image',
          layers: [
            {digest: 'sha256:base', size: 1000},
            {digest: `sha256:l-${arch}`, size: 100},
          ],
          mediaType: IMG,
          size: 20,
        })
      }

      g.addManifest({
        digest: 'sha256:idx',
        kind: 'index',
        manifests: [
          {digest: 'sha256:m-amd64', size: 20},
          {digest: 'sha256:m-arm64', size: 20},
        ],
        mediaType: 'application/vnd.oci.image.index.v1+json',
        size: 30,
      })
      g.addTag('r', 'multi', 'sha256:idx')
      const child = g.freedBytes([{digest: 'sha256:m-amd64', repository: 'r'}])
      expect(child.bytes).to.equal(0)
      expect(child.keptBecauseReferenced).to.deep.equal([{digest: 'sha256:m-amd64', repository: 'r'}])
      const all = g.freedBytes([{repository: 'r', tag: 'multi'}])
      expect(all.deletes.map((d) => d.digest)).to.deep.equal(['sha256:idx', 'sha256:m-amd64', 'sha256:m-arm64'])
      expect(all.bytes).to.equal(30 + 2 * 20 + 2 * 10 + 1000 + 2 * 100)
      const [img] = g.imageSizes()
      expect(img).to.include({kind: 'index', layers: 4, totalBytes: all.bytes, uniqueBytes: all.bytes})
    })

    it('an index child that is also tagged elsewhere survives the index', () => {
      const g = new BlobGraph()
      g.addManifest({
        config: {digest: 'sha256:c', size: 10},
        digest: 'sha256:m',
        kind: 'image',
        layers: [{digest: 'sha256:l', size: 100}],
        mediaType: IMG,
        size: 20,
      })
      g.addManifest({
        digest: 'sha256:idx',
        kind: 'index',
        manifests: [{digest: 'sha256:m', size: 20}],
        mediaType: 'application/vnd.oci.image.index.v1+json',
        size: 30,
      })
      g.addTag('r', 'multi', 'sha256:idx')
      g.addTag('r', 'single', 'sha256:m')
      const r = g.freedBytes([{repository: 'r', tag: 'multi'}])
      expect(r.deletes).to.deep.equal([{digest: 'sha256:idx', repository: 'r'}])
      expect(r.bytes).to.equal(30)
    })

    it('counts references registry-wide: one digest in two repositories is freed only with both', () => {
      const g = new BlobGraph()
      g.addManifest({
        config: {digest: 'sha256:c', size: 10},
        digest: 'sha256:m',
        kind: 'image',
        layers: [{digest: 'sha256:l', size: 100}],
        mediaType: IMG,
        size: 20,
      })
      g.addTag('p/environment', 'e1', 'sha256:m')
      g.addTag('p/model', 'm1', 'sha256:m')
      expect(g.freedBytes([{repository: 'p/environment', tag: 'e1'}]).bytes).to.equal(0)
      expect(
        g.freedBytes([
          {repository: 'p/environment', tag: 'e1'},
          {repository: 'p/model', tag: 'm1'},
        ]).bytes,
      ).to.equal(130)
    })

    it('is linear: 20,000 images over shared layers analyse in well under a second', () => {
      const g = new BlobGraph()
      for (let i = 0; i < 20_000; i++) {
        g.addManifest({
          config: {digest: `sha256:c${i}`, size: 1},
          digest: `sha256:m${i}`,
          kind: 'image',
          layers: [
            {digest: `sha256:base${i % 10}`, size: 1000},
            {digest: `sha256:u${i}`, size: 10},
          ],
          mediaType: IMG,
          size: 1,
        })
        g.addTag('r', `t${i}`, `sha256:m${i}`)
      }

      const t0 = performance.now()
      const sizes = g.imageSizes()
      g.summary()
      const all = g.freedBytes(sizes.map((s) => ({repository: 'r', tag: s.tags[0]})))
      expect(performance.now() - t0).to.be.lessThan(3000)
      expect(sizes[0].uniqueBytes).to.equal(12)
      expect(all.bytes).to.equal(20_000 * 12 + 10 * 1000)
    })
  })
})
