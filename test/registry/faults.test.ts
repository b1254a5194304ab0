import {expect} from 'chai'

import {scanRegistry} from '../../packages/core/src/analysis/scan.js'
import {RegistryUnavailableError} from '../../packages/core/src/registry/errors.js'
import {pushImages} from '../fixtures/push-images.js'
import {type FaultProxy, startFaultProxy} from '../support/fault-proxy.js'
import {type RegistryHandle, startRegistry} from '../support/registry.js'
import {testClient} from './helpers.js'

const REPO = 'acme/environment'

describe('registry faults (real registry behind a fault proxy)', () => {
  let reg: RegistryHandle

  before(async () => {
    reg = await startRegistry()
    const client = testClient(reg.url)
    const images = Array.from({length: 30}, (_, i) => ({
      layers: [
        {seed: 'base', size: 2048},
        {seed: `u${i}`, size: 64},
      ],
      repository: REPO,
      tags: [`t${String(i).padStart(2, '0')}`],
    }))
    await pushImages(client, images, 8)
    await client.close()
  })

  after(async () => {
    await reg?.stop()
  })

  let proxy: FaultProxy | undefined

  afterEach(async () => {
    await proxy?.stop()
    proxy = undefined
  })

  it('429 with Retry-After slows the scan down, and it still completes with the same result', async () => {
    const direct = testClient(reg.url)
    const expected = (await scanRegistry(direct, {concurrency: 4, repositories: [REPO]})).graph.summary()
    await direct.close()

    proxy = await startFaultProxy(reg.url, {throttle: {every: 10, retryAfter: '1'}})
    const client = testClient(proxy.url)
    const t0 = Date.now()
    const {graph} = await scanRegistry(client, {concurrency: 4, repositories: [REPO]})
    const elapsed = Date.now() - t0
    expect(graph.summary()).to.deep.equal(expected)
    expect(proxy.faults).to.be.greaterThan(0)
    expect(client.stats.throttled).to.equal(proxy.faults)
    expect(elapsed).to.be.greaterThanOrEqual(1000) // Retry-After was honoured
    await client.close()
  })

  it('a registry that dies mid-scan gives an error naming the tag', async () => {
    proxy = await startFaultProxy(reg.url, {dieAfter: 12})
    const client = testClient(proxy.url)
    let done = 0
    const err = await scanRegistry(client, {
      concurrency: 2,
      onProgress(p) {
        done = p.tagsDone
      },
      repositories: [REPO],
    }).catch((error: unknown) => error)
    expect(err).to.be.instanceOf(RegistryUnavailableError)
    expect((err as Error).message).to.match(/acme\/environment:t\d\d/)
    expect(done).to.be.lessThan(30)
    // retried network errors (maxRetries 2) but did not hammer: at most 3 attempts per tag in flight
    expect(client.stats.retries).to.be.at.most(2 * 2 + 2)
    await client.close()
  })

  it('5xx is retried with backoff; 4xx is not', async () => {
    proxy = await startFaultProxy(reg.url, {throttle: {every: 2, status: 500}})
    const client = testClient(proxy.url)
    for (const tag of ['t00', 't01', 't02']) {
      // eslint-disable-next-line no-await-in-loop
      expect((await client.headManifest(REPO, tag)).digest).to.match(/^sha256:/)
    }

    expect(client.stats.retries).to.equal(proxy.faults).and.to.be.greaterThan(0)
    proxy.options = {}
    const before = client.stats.requests
    await client.headManifest(REPO, 'missing').catch(() => null)
    expect(client.stats.requests - before).to.equal(1)
    await client.close()
  })
})
