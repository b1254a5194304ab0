import {expect} from 'chai'
import {createHash} from 'node:crypto'

import {sha256Digest} from '../../packages/core/src/registry/client.js'
import {DeletionDisabledError, NotFoundError} from '../../packages/core/src/registry/errors.js'
import {MediaType} from '../../packages/core/src/registry/media-types.js'
import {layerBytes, pushImages} from '../fixtures/push-images.js'
import {type RegistryHandle, startRegistry} from '../support/registry.js'
import {testClient} from './helpers.js'

describe('registry client (real docker-registry 2.8)', () => {
  let reg: RegistryHandle

  before(async () => {
    reg = await startRegistry()
  })

  after(async () => {
    await reg?.stop()
  })

  it('pushes, lists sorted tags, resolves digests with the full Accept list and verifies them', async () => {
    const client = testClient(reg.url)
    await client.ping()
    const pushed = await pushImages(client, [
      {
        layers: [
          {seed: 'base', size: 3000},
          {seed: 'a', size: 100},
        ],
        repository: 'acme/environment',
        tags: ['zeta', 'alpha'],
      },
      {
        layers: [],
        platforms: [
          {architecture: 'amd64', layers: [{seed: 'base', size: 3000}], os: 'linux'},
          {architecture: 'arm64', layers: [{seed: 'arm', size: 50}], os: 'linux'},
        ],
        repository: 'acme/model',
        tags: ['multi'],
      },
    ])
    expect(await client.listTags('acme/environment')).to.deep.equal(['alpha', 'zeta'])
    const head = await client.headManifest('acme/environment', 'zeta')
    expect(head.digest).to.equal(pushed[0].digest)
    expect(head.mediaType).to.equal(MediaType.DOCKER_MANIFEST)
    const got = await client.getManifest('acme/environment', 'alpha')
    expect(got.digest).to.equal(pushed[0].digest)
    expect(sha256Digest(got.body)).to.equal(got.digest)
    // An index must come back as the index, not as its amd64 child (pitfall P3).
    const idx = await client.getManifest('acme/model', 'multi')
    expect(idx.digest).to.equal(pushed[1].digest)
    expect(idx.manifest.kind).to.equal('index')
    expect(pushed[1].children).to.have.length(2)
    // The shared base layer reached acme/model by mount; both repositories serve it.
    const base = sha256Digest(layerBytes({seed: 'base', size: 3000}))
    expect(await client.headBlob('acme/model', base)).to.equal(3000)
    expect(await client.headBlob('acme/model', 'sha256:' + '0'.repeat(64))).to.equal(null)
    const blob = await client.getBlob('acme/environment', base)
    const hash = createHash('sha256')
    for await (const chunk of blob.stream) hash.update(chunk as Buffer)
    expect(`sha256:${hash.digest('hex')}`).to.equal(base)
    expect(await client.catalog(1)).to.deep.equal(['acme/environment', 'acme/model'])
    expect(client.stats.byMethod.HEAD).to.be.greaterThan(0)
    await client.close()
  })

  it('gives typed errors naming the repository and tag, without retrying 4xx', async () => {
    const client = testClient(reg.url)
    const before = client.stats.requests
    const err = await client.headManifest('acme/environment', 'nope').catch((error: unknown) => error)
    expect(err).to.be.instanceOf(NotFoundError)
    expect((err as Error).message).to.contain('acme/environment:nope')
    expect(client.stats.requests - before).to.equal(1)
    await client.close()
  })

  it('deletes by digest (all tags go) and refuses a tag', async () => {
    const client = testClient(reg.url)
    const [img] = await pushImages(client, [
      {layers: [{seed: 'd', size: 10}], repository: 'acme/del', tags: ['one', 'two']},
    ])
    const refused = await client.deleteManifest('acme/del', 'one').catch((error: unknown) => error)
    expect((refused as Error).message).to.contain('by tag')
    expect(await client.listTags('acme/del')).to.deep.equal(['one', 'two'])
    await client.deleteManifest('acme/del', img.digest)
    expect(await client.listTags('acme/del')).to.deep.equal([])
    await client.close()
  })

  it('reports 405 UNSUPPORTED as deletion disabled', async () => {
    const locked = await startRegistry({deleteEnabled: false})
    try {
      const client = testClient(locked.url)
      const [img] = await pushImages(client, [
        {layers: [{seed: 'x', size: 10}], repository: 'acme/locked', tags: ['t']},
      ])
      const err = await client.deleteManifest('acme/locked', img.digest).catch((error: unknown) => error)
      expect(err).to.be.instanceOf(DeletionDisabledError)
      expect((err as Error).message).to.contain('acme/locked@' + img.digest)
      await client.close()
    } finally {
      await locked.stop()
    }
  })
})
