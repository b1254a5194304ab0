import {expect} from 'chai'
import {mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {sha256Digest} from '../../packages/core/src/registry/client.js'
import {ManifestCache} from '../../packages/core/src/registry/manifest-cache.js'

describe('manifest cache (on disk, by digest)', () => {
  let dir: string

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'drc-mcache-'))
  })

  afterEach(() => rmSync(dir, {force: true, recursive: true}))

  it('round-trips exact bytes across instances and says when it is warm', async () => {
    const body = Buffer.from('{"schemaVersion":2,\n "x": "exact bytes"}')
    const digest = sha256Digest(body)
    const a = new ManifestCache(dir)
    expect(await a.isWarm()).to.equal(false)
    await a.put(digest, {body, mediaType: 'application/vnd.oci.image.manifest.v1+json'})
    const b = new ManifestCache(dir)
    expect(await b.isWarm()).to.equal(true)
    const got = await b.get(digest)
    expect(got?.body.equals(body)).to.equal(true)
    expect(got?.mediaType).to.equal('application/vnd.oci.image.manifest.v1+json')
    expect(b.hits).to.equal(1)
    expect(readdirSync(path.join(dir, 'sha256'))).to.deep.equal([digest.slice(7)])
  })

  it('treats a corrupt entry or a bad digest as a miss, never as an answer', async () => {
    const body = Buffer.from('{"a":1}')
    const digest = sha256Digest(body)
    await new ManifestCache(dir).put(digest, {body, mediaType: 'x'})
    writeFileSync(path.join(dir, 'sha256', digest.slice(7)), 'x\n{"a":2}')
    const c = new ManifestCache(dir)
    expect(await c.get(digest)).to.equal(null)
    expect(await c.get('sha256:../../etc/passwd')).to.equal(null)
    expect(c.misses).to.equal(1)
  })

  it('refuses to store under a digest that is not a valid sha256/sha512 digest (no path from it)', async () => {
    const c = new ManifestCache(dir)
    for (const bad of [
      'md5:x/../../../escape',
      `sha256:${'A'.repeat(64)}`,
      'sha256:../../x',
      `sha1:${'0'.repeat(40)}`,
    ]) {
      // eslint-disable-next-line no-await-in-loop
      const error = await c.put(bad, {body: Buffer.from('{}'), mediaType: 'x'}).catch((error_: Error) => error_)
      expect((error as Error)?.name, bad).to.equal('InvalidReferenceError')
    }

    expect(readdirSync(dir)).to.deep.equal([])
    expect(readdirSync(path.dirname(dir)).some((f) => f.startsWith('escape'))).to.equal(false)
  })
})
