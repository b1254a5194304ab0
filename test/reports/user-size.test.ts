import {expect} from 'chai'

import {BlobGraph} from '../../src/analysis/graph.js'
import {userSizes} from '../../src/reports/user-size.js'

describe('user-size aggregation', () => {
  it('counts a layer shared between two owners as freed for neither, and groups unknown owners', () => {
    const g = new BlobGraph()
    const img = (name: string, layers: Array<[string, number]>): void => {
      g.addManifest({
        config: {digest: `sha256:c-${name}`, size: 0},
        digest: `sha256:m-${name}`,
        kind: 'image',
        layers: layers.map(([d, size]) => ({digest: `sha256:${d}`, size})),
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        size: 0,
      })
      g.addTag('r/environment', name, `sha256:m-${name}`)
    }

    img('a1', [
      ['base', 100],
      ['a1', 10],
    ])
    img('a2', [
      ['base', 100],
      ['a2', 20],
    ])
    img('b1', [
      ['base', 100],
      ['b1', 30],
    ])
    img('x', [['x', 5]])
    const rows = userSizes(
      g,
      new Map([
        ['r/environment:a1', 'alice'],
        ['r/environment:a2', 'alice'],
        ['r/environment:b1', 'bob'],
      ]),
    )
    expect(rows).to.deep.equal([
      {freed_bytes: 30, images: 2, owner: 'alice', total_bytes: 230},
      {freed_bytes: 30, images: 1, owner: 'bob', total_bytes: 130},
      {freed_bytes: 5, images: 1, owner: '(unknown)', total_bytes: 5},
    ])
  })
})
