import {expect} from 'chai'
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type {ImageSpec} from '../fixtures/types.js'

import {scanRegistry} from '../../packages/core/src/analysis/scan.js'
import {ManifestCache} from '../../packages/core/src/registry/manifest-cache.js'
import {pushImages} from '../fixtures/push-images.js'
import {testClient} from '../registry/helpers.js'
import {type RegistryHandle, startRegistry} from '../support/registry.js'

const REPO = 'acme/environment'
const images: ImageSpec[] = [
  ...Array.from({length: 40}, (_, i) => ({
    layers: [
      {seed: 'base', size: 512},
      {seed: `s${i}`, size: 32},
    ],
    repository: REPO,
    tags: [`t${i}`],
  })),
  {
    layers: [],
    platforms: [
      {architecture: 'amd64', layers: [{seed: 'base', size: 512}], os: 'linux'},
      {architecture: 'arm64', layers: [{seed: 'arm', size: 64}], os: 'linux'},
    ],
    repository: REPO,
    tags: ['multi'],
  },
  {layers: [{seed: 'bc', size: 16}], repository: REPO, tags: ['buildcache']},
]

describe('registry scan: requests per tag', () => {
  let reg: RegistryHandle
  let dirs: string[] = []
  const tmp = (): string => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'drc-scan-'))
    dirs.push(d)
    return d
  }

  before(async () => {
    reg = await startRegistry()
    const client = testClient(reg.url)
    await pushImages(client, images, 8)
    await client.close()
  })

  after(async () => {
    await reg?.stop()
    for (const d of dirs) rmSync(d, {force: true, recursive: true})
    dirs = []
  })

  async function scan(cacheDir: null | string) {
    const client = testClient(reg.url)
    const result = await scanRegistry(client, {
      cache: cacheDir ? new ManifestCache(cacheDir) : null,
      concurrency: 8,
      repositories: [REPO, 'acme/model'],
    })
    await client.close()
    return {...result, stats: client.stats}
  }

  it('cold: one GET per tag (+ index children once); warm: one HEAD per tag and no GET', async () => {
    const dir = tmp()
    const cold = await scan(dir)
    // 41 tags (buildcache skipped) + 2 index children + 2 tag lists (acme/model is empty: 404 → no tags)
    expect(cold.repositories).to.deep.equal([
      {repository: REPO, tags: 41},
      {repository: 'acme/model', tags: 0},
    ])
    expect(cold.stats.byMethod).to.deep.equal({GET: 41 + 2 + 2})
    const warm = await scan(dir)
    expect(warm.stats.byMethod).to.deep.equal({GET: 2, HEAD: 41})
    expect(warm.graph.summary()).to.deep.equal(cold.graph.summary())
  })

  it('a cache from elsewhere (mostly misses) switches itself from HEAD+GET to GET', async () => {
    const dir = tmp()
    const other = new ManifestCache(dir)
    await other.put('sha256:' + 'a'.repeat(64), {body: Buffer.from('{}'), mediaType: 'x'}) // warm, but useless
    const r = await scan(dir)
    const manifestRequests = (r.stats.byMethod.GET ?? 0) - 2 + (r.stats.byMethod.HEAD ?? 0)
    // at most ~17 tags pay HEAD+GET before the switch (concurrency adds a few in flight)
    expect(manifestRequests).to.be.lessThan(41 + 2 + 17 + 8 + 1)
    expect(r.stats.byMethod.HEAD).to.be.lessThan(41)
  })
})
