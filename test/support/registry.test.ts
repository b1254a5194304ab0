/* eslint-disable n/no-unsupported-features/node-builtins -- global fetch is available (unflagged) on Node 20, our floor */
import {expect} from 'chai'
import {randomBytes} from 'node:crypto'

import {deleteManifest, MANIFEST_ACCEPT, pushImage, sha256} from './registry-push.js'
import {type RegistryHandle, startRegistry} from './registry.js'

describe('test support: real docker registry', () => {
  let registry: RegistryHandle

  before(async () => {
    registry = await startRegistry({deleteEnabled: true})
  })

  after(async () => registry?.stop())

  it('round-trips an image: blob upload, manifest PUT, GET with the full Accept list', async () => {
    const layer = randomBytes(4096)
    const image = await pushImage(registry.url, 'demo/app', 'v1', [layer])
    const manifest = await fetch(`${registry.url}/v2/demo/app/manifests/v1`, {headers: {accept: MANIFEST_ACCEPT}})
    const body = await manifest.text()
    expect(manifest.status).to.equal(200)
    expect(manifest.headers.get('docker-content-digest')).to.equal(image.digest)
    expect(sha256(body)).to.equal(image.digest)
    const blob = await fetch(`${registry.url}/v2/demo/app/blobs/${image.layers[0].digest}`)
    expect(Buffer.from(await blob.arrayBuffer()).equals(layer)).to.be.true
    const tags = (await (await fetch(`${registry.url}/v2/demo/app/tags/list`)).json()) as {tags: string[]}
    expect(tags.tags).to.deep.equal(['v1'])
  })

  it('deletes by digest (202) and garbage-collect frees the unique layer on disk', async () => {
    const layer = randomBytes(256 * 1024)
    const image = await pushImage(registry.url, 'demo/gc', 'old', [layer])
    const before = registry.blobBytesOnDisk()
    expect((await deleteManifest(registry.url, 'demo/gc', image.digest)).status).to.equal(202)
    const dry = await registry.garbageCollect({dryRun: true})
    expect(dry.code).to.equal(0)
    expect(registry.blobBytesOnDisk()).to.equal(before)
    const gc = await registry.garbageCollect()
    expect(gc.code, gc.output).to.equal(0)
    expect(before - registry.blobBytesOnDisk()).to.be.at.least(layer.length)
  })

  it('refuses deletion with 405 UNSUPPORTED when started with delete disabled by env', async () => {
    const image = await pushImage(registry.url, 'demo/locked', 'v1', [randomBytes(512)])
    await registry.restart({REGISTRY_STORAGE_DELETE_ENABLED: 'false'})
    try {
      expect(await deleteManifest(registry.url, 'demo/locked', image.digest)).to.deep.equal({
        code: 'UNSUPPORTED',
        status: 405,
      })
    } finally {
      await registry.restart({})
    }
  })

  it('enforces htpasswd basic auth when configured', async () => {
    const secured = await startRegistry({basicAuth: {password: 's3cret', username: 'alice'}})
    try {
      expect((await fetch(`${secured.url}/v2/`)).status).to.equal(401)
      const authorization = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`
      expect((await fetch(`${secured.url}/v2/`, {headers: {authorization}})).status).to.equal(200)
      const wrong = `Basic ${Buffer.from('alice:nope').toString('base64')}`
      expect((await fetch(`${secured.url}/v2/`, {headers: {authorization: wrong}})).status).to.equal(401)
    } finally {
      await secured.stop()
    }
  })
})
