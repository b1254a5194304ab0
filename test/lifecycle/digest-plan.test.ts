import {expect} from 'chai'

import {BlobGraph, type ManifestNode} from '../../packages/core/src/analysis/graph.js'
import {buildDeletionPlan, normalizeRepository} from '../../packages/core/src/lifecycle/digest-plan.js'

const R = 'acme/environment'
const d = (n: string) => `sha256:${n.padStart(64, '0')}`
const image = (n: string, layer: string): ManifestNode => ({
  config: {digest: d(`c${n}`), size: 10},
  digest: d(n),
  kind: 'image',
  layers: [{digest: d(layer), size: 1000}],
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  size: 100,
})
const index = (n: string, children: string[]): ManifestNode => ({
  digest: d(n),
  kind: 'index',
  manifests: children.map((c) => ({digest: d(c), size: 100})),
  mediaType: 'application/vnd.oci.image.index.v1+json',
  size: 50,
})

function graph(): BlobGraph {
  const g = new BlobGraph()
  for (const m of [image('a1', 'l1'), image('a2', 'l2'), index('ia', ['a1', 'a2'])]) g.addManifest(m)
  for (const m of [image('b1', 'l3'), index('ib', ['b1', 'a2'])]) g.addManifest(m)
  g.addManifest(image('s', 'l4'))
  g.addTag(R, 'multi', d('ia'))
  g.addTag(R, 'other-multi', d('ib'))
  g.addTag(R, 'shared-1', d('s'))
  g.addTag(R, 'shared-2', d('s'))
  return g
}

/** Invariant 2 at the planning level: digests, shared tags, indexes (pure: the blob graph is built by hand). */
describe('lifecycle buildDeletionPlan', () => {
  it('deletes an index before its children and keeps a child another index still lists', () => {
    const plan = buildDeletionPlan(graph(), [{reason: 'environment x archived', repository: R, tag: 'multi'}])
    expect(plan.items.map((i) => i.digest)).to.deep.equal([d('ia'), d('a1')])
    expect(plan.items[0]).to.include({repository: R})
    expect(plan.items[0].tags).to.deep.equal(['multi'])
    expect(plan.items[0].evidence).to.deep.equal(['environment x archived'])
    expect(plan.items[1].parents).to.deep.equal([`${R}@${d('ia')}`])
    // Freed: the index manifest, a1 with its config and layer l1; a2 and l2 stay (ib lists a2).
    expect(plan.predictedFreedBytes).to.equal(50 + 100 + 10 + 1000)
  })

  it('keeps a tag whose digest another tag outside the set points at, naming that tag; reports missing tags', () => {
    const plan = buildDeletionPlan(graph(), [
      {reason: 'r', repository: R, tag: 'shared-1'},
      {reason: 'r', repository: `registry.example:5000/${R}`, tag: 'gone'},
    ])
    expect(plan.items).to.deep.equal([])
    expect(plan.skipped).to.deep.equal([
      {
        digest: d('s'),
        reason: 'digest shared with tag(s) outside the deletion set: shared-2',
        repository: R,
        tag: 'shared-1',
      },
      {reason: 'not in the registry', repository: R, tag: 'gone'},
    ])
    expect(plan.predictedFreedBytes).to.equal(0)
  })

  it('deletes a shared digest once when every tag on it is a candidate', () => {
    const plan = buildDeletionPlan(graph(), [
      {reason: 'one', repository: R, tag: 'shared-1'},
      {reason: 'two', repository: R, tag: 'shared-2'},
    ])
    expect(plan.items).to.have.length(1)
    expect(plan.items[0].tags).to.deep.equal(['shared-1', 'shared-2'])
    expect(plan.items[0].evidence).to.deep.equal(['one', 'two'])
  })

  it('strips a registry host Mongo may store in front of the repository', () => {
    expect(normalizeRepository('docker-registry:5000/dominodatalab/environment')).to.equal('dominodatalab/environment')
    expect(normalizeRepository('dominodatalab/environment')).to.equal('dominodatalab/environment')
  })
})
