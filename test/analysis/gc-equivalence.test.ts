import {expect} from 'chai'
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type {ImageSpec} from '../fixtures/types.js'

import {type ImageSelector} from '../../packages/core/src/analysis/graph.js'
import {scanRegistry} from '../../packages/core/src/analysis/scan.js'
import {ManifestCache} from '../../packages/core/src/registry/manifest-cache.js'
import {pushImages} from '../fixtures/push-images.js'
import {testClient} from '../registry/helpers.js'
import {type RegistryHandle, startRegistry} from '../support/registry.js'

const ENV = 'acme/environment'
const MODEL = 'acme/model'
const KiB = 1024

/** Shared layers across repositories, two tags on one digest, one multi-arch index. */
const IMAGES: ImageSpec[] = [
  {
    layers: [
      {seed: 'os', size: 64 * KiB},
      {seed: 'py', size: 32 * KiB},
      {seed: 'e1', size: 12 * KiB},
    ],
    repository: ENV,
    tags: ['e1'],
  },
  {
    layers: [
      {seed: 'os', size: 64 * KiB},
      {seed: 'py', size: 32 * KiB},
      {seed: 'e2', size: 9 * KiB},
    ],
    repository: ENV,
    tags: ['e2'],
  },
  {
    layers: [
      {seed: 'os', size: 64 * KiB},
      {seed: 'e3', size: 7 * KiB},
    ],
    repository: ENV,
    tags: ['e3', 'e3-alias'],
  },
  {
    layers: [
      {seed: 'os', size: 64 * KiB},
      {seed: 'e3', size: 7 * KiB},
      {seed: 'm1', size: 5 * KiB},
    ],
    repository: MODEL,
    tags: ['m1'],
  },
  {
    layers: [],
    platforms: [
      {
        architecture: 'amd64',
        layers: [
          {seed: 'os', size: 64 * KiB},
          {seed: 'mx-amd', size: 11 * KiB},
        ],
        os: 'linux',
      },
      {
        architecture: 'arm64',
        layers: [
          {seed: 'os-arm', size: 60 * KiB},
          {seed: 'mx-arm', size: 13 * KiB},
        ],
        os: 'linux',
      },
    ],
    repository: MODEL,
    tags: ['multi'],
  },
]

describe('freed bytes equal what docker-registry garbage-collect frees on disk', () => {
  let reg: RegistryHandle
  let cacheDir: string

  before(async () => {
    reg = await startRegistry()
    cacheDir = mkdtempSync(path.join(os.tmpdir(), 'drc-cache-'))
    const client = testClient(reg.url)
    await pushImages(client, IMAGES)
    await client.close()
  })

  after(async () => {
    await reg?.stop()
    rmSync(cacheDir, {force: true, recursive: true})
  })

  async function scan() {
    const client = testClient(reg.url)
    try {
      return await scanRegistry(client, {
        cache: new ManifestCache(cacheDir),
        concurrency: 4,
        repositories: [ENV, MODEL],
      })
    } finally {
      await client.close()
    }
  }

  /** Predicts, deletes exactly the planned revisions, runs GC, restarts the registry; returns [predicted, measured]. */
  async function deleteAndCollect(selection: ImageSelector[]): Promise<[number, number, number]> {
    const {graph} = await scan()
    const plan = graph.freedBytes(selection)
    const before = reg.blobBytesOnDisk()
    const client = testClient(reg.url)
    for (const d of plan.deletes) {
      // eslint-disable-next-line no-await-in-loop
      await client.deleteManifest(d.repository, d.digest)
    }

    await client.close()
    const gc = await reg.garbageCollect()
    expect(gc.code, gc.output).to.equal(0)
    await reg.restart() // its blob-descriptor cache is stale after GC (pitfall P6)
    return [plan.bytes, before - reg.blobBytesOnDisk(), plan.deletes.length]
  }

  it('finds every image; index children are never unreferenced', async () => {
    const {graph, repositories} = await scan()
    expect(repositories).to.deep.equal([
      {repository: ENV, tags: 4},
      {repository: MODEL, tags: 2},
    ])
    const images = graph.imageSizes()
    expect(images.map((i) => i.tags.join(',')).sort()).to.deep.equal(['e1', 'e2', 'e3,e3-alias', 'm1', 'multi'])
    const children = graph.listRevisions().filter((r) => r.tags.length === 0)
    expect(children).to.have.length(2)
    for (const c of children) {
      const r = graph.freedBytes([{digest: c.digest, repository: c.repository}])
      expect(r.bytes).to.equal(0)
      expect(r.deletes).to.deep.equal([])
    }
  })

  it('one image over shared layers: its unique layer, config and manifest', async () => {
    const [predicted, measured, deletes] = await deleteAndCollect([{repository: ENV, tag: 'e1'}])
    expect(deletes).to.equal(1)
    expect(predicted).to.be.greaterThan(12 * KiB)
    expect(measured).to.equal(predicted)
  })

  it('one tag of a two-tag digest: nothing is deleted and nothing is freed', async () => {
    const [predicted, measured, deletes] = await deleteAndCollect([{repository: ENV, tag: 'e3'}])
    expect([predicted, measured, deletes]).to.deep.equal([0, 0, 0])
  })

  it('a multi-arch index with its children', async () => {
    const [predicted, measured, deletes] = await deleteAndCollect([{repository: MODEL, tag: 'multi'}])
    expect(deletes).to.equal(3)
    expect(predicted).to.be.greaterThan((60 + 11 + 13) * KiB)
    expect(measured).to.equal(predicted)
  })

  it('a set across repositories: both tags of a digest plus the model sharing its layer', async () => {
    const [predicted, measured] = await deleteAndCollect([
      {repository: ENV, tag: 'e3'},
      {repository: ENV, tag: 'e3-alias'},
      {repository: MODEL, tag: 'm1'},
    ])
    expect(predicted).to.be.greaterThan((7 + 5) * KiB)
    expect(measured).to.equal(predicted)
    // what is left still resolves after GC and restart
    const {graph} = await scan()
    expect(graph.imageSizes().map((i) => i.tags[0])).to.deep.equal(['e2'])
  })
})
