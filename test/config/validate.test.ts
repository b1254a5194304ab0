import {expect} from 'chai'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {loadConfig} from '../../src/config/load.js'
import {
  isValidKubernetesName,
  isValidRegistryUrl,
  isValidRepository,
  isValidS3Bucket,
} from '../../src/config/validate.js'

async function errorsFor(env: NodeJS.ProcessEnv): Promise<string[]> {
  const {errors} = await loadConfig({cwd: mkdtempSync(path.join(tmpdir(), 'drc-v-')), env})
  return errors.map((e) => `${e.path}: ${e.message}`)
}

describe('configuration validation', () => {
  it('accepts the defaults', async () => {
    expect(await errorsFor({})).to.deep.equal([])
  })

  it('names each broken key with its rule', async () => {
    expect(await errorsFor({REPOSITORY: 'invalid@repo!'})).to.deep.equal([
      "registry.repository: Repository name 'invalid@repo!' contains invalid characters (allowed: letters, digits, _ - /)",
    ])
    expect((await errorsFor({DOMINO_PLATFORM_NAMESPACE: 'Invalid_Namespace'}))[0]).to.contain(
      'not a valid Kubernetes name',
    )
    expect((await errorsFor({MONGODB_PORT: '99999'}))[0]).to.contain('port must be an integer between')
    expect((await errorsFor({S3_BUCKET: 'INVALID_BUCKET'}))[0]).to.match(/S3 bucket name 'INVALID_BUCKET' is invalid/)
  })

  it('reports every problem at once', async () => {
    const errors = await errorsFor({DOMINO_PLATFORM_NAMESPACE: '-bad', MONGODB_PORT: '0', REPOSITORY: 'a b'})
    expect(errors.map((e) => e.split(':')[0])).to.deep.equal([
      'registry.repository',
      'kubernetes.domino_platform_namespace',
      'mongo.port',
    ])
  })

  it('validates mongo.uri with the driver parser at load time, never printing it', async () => {
    for (const ok of [
      'mongodb://admin:pw@mongodb-replicaset:27017/domino?replicaSet=rs0',
      'mongodb+srv://admin:pw@cluster.example.com/domino',
      'mongodb://h1:27017,h2:27017/?authSource=admin',
    ])
      // eslint-disable-next-line no-await-in-loop
      expect(await errorsFor({DRC_MONGO_URI: ok}), ok).to.deep.equal([])
    for (const [bad, reason] of [
      ['mongodb://admin:topsecret@h:99999/db', 'Unable to parse'],
      ['mongodb+srv://admin:topsecret@h:27017/db', 'cannot have port number'],
      ['mongodb://admin:topsecret@h/db?tls=maybe', 'tls/ssl must be either'],
      ['mongodb://admin:topsecret@', 'host list are required'],
      ['mongodb://admin:top%zzsecret@h/db', 'URI malformed'],
    ]) {
      // eslint-disable-next-line no-await-in-loop
      const errors = await errorsFor({DRC_MONGO_URI: bad})
      expect(errors, bad).to.have.length(1)
      expect(errors[0]).to.match(/^mongo\.uri: MongoDB URI does not parse: /)
      expect(errors[0]).to.include(reason)
      expect(errors[0]).not.to.include('topsecret')
    }
  })

  it('judges registry URLs', () => {
    for (const ok of [
      'registry.example.com',
      'registry.example.com:5000',
      'docker-registry',
      'https://registry.example.com',
    ])
      expect(isValidRegistryUrl(ok), ok).to.equal(true)
    for (const bad of ['', 'registry with spaces']) expect(isValidRegistryUrl(bad), bad).to.equal(false)
  })

  it('judges repository names', () => {
    for (const ok of ['myrepo', 'my-repo', 'my_repo', 'my/repo', 'dominodatalab/environment'])
      expect(isValidRepository(ok), ok).to.equal(true)
    for (const bad of ['', 'invalid@repo', 'invalid repo']) expect(isValidRepository(bad), bad).to.equal(false)
  })

  it('judges Kubernetes names', () => {
    for (const ok of ['valid-name', 'validname', 'valid123', 'domino-platform'])
      expect(isValidKubernetesName(ok), ok).to.equal(true)
    for (const bad of ['', 'Invalid-Name', '_invalid', '-invalid', 'a'.repeat(254)])
      expect(isValidKubernetesName(bad), bad).to.equal(false)
  })

  it('judges S3 bucket names', () => {
    for (const ok of ['my-bucket', 'mybucket123', 'abc']) expect(isValidS3Bucket(ok), ok).to.equal(true)
    for (const bad of ['', 'ab', 'a'.repeat(64), 'MyBucket', '192.168.1.1'])
      expect(isValidS3Bucket(bad), bad).to.equal(false)
  })

  it('requires max_delay >= initial_delay and a region with a bucket', async () => {
    const {errors} = await loadConfig({
      cwd: mkdtempSync(path.join(tmpdir(), 'drc-v-')),
      env: {S3_BUCKET: 'ok-bucket'},
      flags: {'retry.initial_delay': 10, 'retry.max_delay': 5, 's3.region': ''},
    })
    expect(errors.map((e) => e.path)).to.deep.equal(['retry.max_delay', 's3.region'])
  })
})
