import {expect} from 'chai'

import {staticCredentials} from '../../packages/core/src/registry/credentials.js'
import {UnauthorizedError} from '../../packages/core/src/registry/errors.js'
import {pushImages} from '../fixtures/push-images.js'
import {type RegistryHandle, startRegistry} from '../support/registry.js'
import {startTokenServer, type TokenServer} from '../support/token-server.js'
import {testClient} from './helpers.js'

describe('registry authentication (real registries)', () => {
  describe('htpasswd basic auth', () => {
    let reg: RegistryHandle

    before(async () => {
      reg = await startRegistry({basicAuth: {password: 's3cret', username: 'drc'}})
    })

    after(async () => {
      await reg?.stop()
    })

    it('works with the right password and sends it up front after the first challenge', async () => {
      const client = testClient(reg.url, {credentials: staticCredentials('drc', 's3cret', 'test')})
      await pushImages(client, [{layers: [{seed: 'b', size: 100}], repository: 'acme/environment', tags: ['t1', 't2']}])
      const before = client.stats.requests
      await client.headManifest('acme/environment', 't1')
      await client.headManifest('acme/environment', 't2')
      expect(client.stats.requests - before).to.equal(2)
      await client.close()
    })

    it('a wrong password gives one clear error and no retry storm', async () => {
      const client = testClient(reg.url, {credentials: staticCredentials('drc', 'wrong', 'test')})
      const err = await client.listTags('acme/environment').catch((error: unknown) => error)
      expect(err).to.be.instanceOf(UnauthorizedError)
      expect((err as Error).message).to.match(/acme\/environment.*wrong user name or password/)
      expect((err as UnauthorizedError).suggestions.join(' ')).to.contain('REGISTRY_PASSWORD')
      expect(client.stats.requests).to.equal(2) // the anonymous probe, then one try with the credentials
      await client.close()
    })

    it('without credentials says none are configured', async () => {
      const client = testClient(reg.url)
      const err = await client.ping().catch((error: unknown) => error)
      expect(err).to.be.instanceOf(UnauthorizedError)
      expect((err as Error).message).to.contain('no credentials configured')
      await client.close()
    })
  })

  describe('bearer token auth (Docker token protocol)', () => {
    let reg: RegistryHandle
    let tokens: TokenServer

    before(async () => {
      tokens = await startTokenServer({drc: 'pw'})
      reg = await startRegistry({
        tokenAuth: {
          issuer: tokens.issuer,
          realm: tokens.realm,
          rootCertBundle: tokens.certPath,
          service: tokens.service,
        },
      })
    })

    after(async () => {
      await reg?.stop()
      await tokens?.stop()
    })

    it('fetches a token per scope, caches it, and pushes/pulls through it', async () => {
      const client = testClient(reg.url, {credentials: staticCredentials('drc', 'pw', 'test')})
      const [img] = await pushImages(client, [
        {layers: [{seed: 't', size: 100}], repository: 'acme/model', tags: ['m1', 'm2']},
      ])
      const t0 = tokens.requests
      expect(await client.listTags('acme/model')).to.deep.equal(['m1', 'm2'])
      expect((await client.headManifest('acme/model', 'm1')).digest).to.equal(img.digest)
      expect((await client.headManifest('acme/model', 'm2')).digest).to.equal(img.digest)
      expect(tokens.requests - t0).to.equal(1) // one pull token for acme/model, reused
      await client.close()
    })

    it('refreshes an expired token on 401', async () => {
      tokens.ttlSeconds = 11 // the client renews 10 s early, so it is reused for ~1 s
      const client = testClient(reg.url, {credentials: staticCredentials('drc', 'pw', 'test')})
      await client.listTags('acme/model')
      const t0 = tokens.requests
      await new Promise((r) => {
        setTimeout(r, 1100)
      })
      await client.listTags('acme/model')
      expect(tokens.requests - t0).to.equal(1)
      tokens.ttlSeconds = 300
      await client.close()
    })

    it('a wrong password is one Unauthorized error naming the token server', async () => {
      const client = testClient(reg.url, {credentials: staticCredentials('drc', 'nope', 'test')})
      const t0 = tokens.requests
      const err = await client.listTags('acme/model').catch((error: unknown) => error)
      expect(err).to.be.instanceOf(UnauthorizedError)
      expect((err as Error).message).to.contain('token server')
      expect(tokens.requests - t0).to.equal(1)
      await client.close()
    })
  })
})
