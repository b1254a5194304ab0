import {expect} from 'chai'
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type {DrcConfig} from '../../packages/core/src/config/types.js'

import {loadConfig} from '../../packages/core/src/config/load.js'
import {parseChallenge} from '../../packages/core/src/registry/auth.js'
import {registryBaseUrl} from '../../packages/core/src/registry/client.js'
import {
  credentialsFromDockerConfig,
  ecrCredentials,
  ecrRegion,
  type ReadSecret,
  resolveCredentials,
} from '../../packages/core/src/registry/credentials.js'
import {backoffMs, retryAfterMs, TokenBucket} from '../../packages/core/src/registry/throttle.js'
import {type MotoHandle, startMoto} from '../support/moto.js'

const dockerConfig = (auths: Record<string, unknown>): Record<string, string> => ({
  '.dockerconfigjson': Buffer.from(JSON.stringify({auths})).toString('base64'),
})

describe('registry credentials, URLs, challenges and throttling', () => {
  let dir: string
  const configWith = async (env: Record<string, string>): Promise<DrcConfig> => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'drc-cred-'))
    return (await loadConfig({cwd: dir, env})).config
  }

  afterEach(() => dir && rmSync(dir, {force: true, recursive: true}))

  it('resolves in order: configuration, auth_secret, domino-registry, ECR, anonymous', async () => {
    const secrets: Record<string, Record<string, string>> = {
      'domino-platform/custom': dockerConfig({
        'https://registry.example.com:5000': {password: 'p-custom', username: 'u-custom'},
      }),
      'domino-platform/domino-registry': dockerConfig({
        'registry.example.com': {auth: Buffer.from('u-domino:p:with:colons').toString('base64')},
      }),
    }
    const readSecret: ReadSecret = async (ns, name) => secrets[`${ns}/${name}`] ?? null
    const url = 'registry.example.com:5000'

    const fromConfig = await configWith({REGISTRY_PASSWORD: 'p', REGISTRY_URL: url, REGISTRY_USERNAME: 'u'})
    expect(await (await resolveCredentials(fromConfig, {readSecret})).get()).to.deep.equal({
      password: 'p',
      username: 'u',
    })

    const custom = await configWith({REGISTRY_AUTH_SECRET: 'custom', REGISTRY_URL: url})
    const c = await resolveCredentials(custom, {readSecret})
    expect(c.describe).to.equal('secret domino-platform/custom')
    expect(await c.get()).to.deep.equal({password: 'p-custom', username: 'u-custom'})

    const domino = await configWith({REGISTRY_URL: url})
    expect(await (await resolveCredentials(domino, {readSecret})).get()).to.deep.equal({
      password: 'p:with:colons',
      username: 'u-domino',
    })

    const ecr = await configWith({REGISTRY_URL: '123456789012.dkr.ecr.eu-west-1.amazonaws.com'})
    expect((await resolveCredentials(ecr, {readSecret: async () => null})).describe).to.equal('ECR token (eu-west-1)')

    const none = await configWith({REGISTRY_URL: 'other.example.org'})
    expect((await resolveCredentials(none, {readSecret})).describe).to.equal('anonymous')

    const half = await configWith({REGISTRY_PASSWORD: 'p', REGISTRY_URL: url})
    const err = await resolveCredentials(half).catch((error: unknown) => error)
    expect((err as Error).message).to.contain('registry.username is not')
  })

  it('matches dockerconfigjson entries by host or containing host, and survives garbage', () => {
    expect(
      credentialsFromDockerConfig(
        dockerConfig({'docker-registry:5000': {password: 'b', username: 'a'}}),
        'docker-registry:5000',
      ),
    ).to.deep.equal({password: 'b', username: 'a'})
    expect(
      credentialsFromDockerConfig(
        dockerConfig({'elsewhere.io': {password: 'b', username: 'a'}}),
        'docker-registry:5000',
      ),
    ).to.equal(null)
    expect(credentialsFromDockerConfig({'.dockerconfigjson': 'not base64 json'}, 'x')).to.equal(null)
  })

  it('derives base URLs and ECR regions', () => {
    expect(registryBaseUrl('docker-registry:5000', false)).to.equal('https://docker-registry:5000')
    expect(registryBaseUrl('docker-registry:5000', true)).to.equal('http://docker-registry:5000')
    expect(registryBaseUrl('http://r:5000/', false)).to.equal('http://r:5000')
    expect(ecrRegion('1.dkr.ecr.ap-south-1.amazonaws.com')).to.equal('ap-south-1')
    expect(ecrRegion('registry.local', {AWS_REGION: 'eu-north-1'})).to.equal('eu-north-1')
    expect(ecrRegion('registry.local', {})).to.equal('us-east-1')
  })

  it('parses bearer challenges with several scopes and quoted commas', () => {
    const ch = parseChallenge(
      'Bearer realm="https://auth.example.com/token",service="reg",scope="repository:a/b:pull,push repository:c:pull"',
    )
    expect(ch).to.deep.equal({
      params: {
        realm: 'https://auth.example.com/token',
        scope: 'repository:a/b:pull,push repository:c:pull',
        service: 'reg',
      },
      scheme: 'bearer',
    })
    expect(parseChallenge('Basic realm="x"')?.scheme).to.equal('basic')
  })

  it('backs off exponentially with bounded jitter and reads Retry-After', async () => {
    const o = {exponentialBase: 2, initialDelay: 1, jitter: false, maxDelay: 5}
    expect([0, 1, 2, 3].map((a) => backoffMs(a, o))).to.deep.equal([1000, 2000, 4000, 5000])
    const j = backoffMs(1, {...o, jitter: true}, () => 1)
    expect(j).to.equal(2200)
    expect(retryAfterMs('3')).to.equal(3000)
    expect(retryAfterMs(new Date(Date.now() + 2000).toUTCString())).to.be.within(900, 2000)
    expect(retryAfterMs('soon')).to.equal(undefined)
    const bucket = new TokenBucket(50, 2)
    const t0 = Date.now()
    for (let i = 0; i < 7; i++) await bucket.acquire() // eslint-disable-line no-await-in-loop
    // 2 from the burst, 5 more at 50/s ≈ 100 ms
    expect(Date.now() - t0).to.be.within(80, 400)
  })

  describe('ECR token (moto)', () => {
    let moto: MotoHandle
    const saved = {id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY}

    before(async function () {
      this.timeout(60_000)
      moto = await startMoto()
      process.env.AWS_ACCESS_KEY_ID = moto.accessKeyId
      process.env.AWS_SECRET_ACCESS_KEY = moto.secretAccessKey
    })

    after(async () => {
      await moto?.stop()
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID
      else process.env.AWS_ACCESS_KEY_ID = saved.id
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY
      else process.env.AWS_SECRET_ACCESS_KEY = saved.secret
    })

    it('gets AWS:<password> from GetAuthorizationToken and refreshes on demand', async () => {
      const src = ecrCredentials('123456789012.dkr.ecr.us-east-1.amazonaws.com', {AWS_ENDPOINT_URL_ECR: moto.endpoint})
      const first = await src.get()
      expect(first?.username).to.equal('AWS')
      expect(first?.password).to.have.length.greaterThan(0)
      expect(await src.get()).to.equal(first) // cached
      const again = await src.refresh!()
      expect(again?.username).to.equal('AWS')
    })
  })
})
