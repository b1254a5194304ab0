import {expect} from 'chai'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {DrcConfig} from '../../packages/core/src/config/types.js'

import {KEYS} from '../../packages/core/src/config/keys.js'
import {loadConfig} from '../../packages/core/src/config/load.js'
import {configSchema} from '../../packages/core/src/config/schema.js'
import {
  isValidKubernetesName,
  isValidRegistryUrl,
  isValidRepository,
  isValidS3Bucket,
  validateConfig,
} from '../../packages/core/src/config/validate.js'

/** The defaults as a configuration object, straight from the key table. */
function configFrom(): DrcConfig {
  const out: Record<string, Record<string, unknown>> = {}
  for (const k of KEYS) {
    const [section, key] = k.path.split('.')
    out[section] = {...out[section], [key]: structuredClone(k.default)}
  }

  return out as unknown as DrcConfig
}

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

  it('warns (not errors) on doubtful values, and only errors on broken ones', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'drc-v-'))
    const doubtful = await loadConfig({
      cwd: dir,
      env: {REGISTRY_URL: 'https://registry.example.com/v2/path'},
      flags: {'analysis.max_workers': 200, 'registry.tls_verify': false, 'retry.max_retries': 11},
    })
    expect(doubtful.errors).to.deep.equal([])
    expect(doubtful.warnings.map((w) => `${w.path}: ${w.message}`)).to.deep.equal([
      "registry.url: Registry URL 'https://registry.example.com/v2/path' is not of the form host[:port]",
      'registry.tls_verify: false: the registry certificate is not verified (prefer registry.ca_file)',
      'analysis.max_workers: max_workers above 100 may overload the registry',
      'retry.max_retries: max_retries above 10',
    ])
    const broken = await loadConfig({cwd: dir, env: {}, flags: {'analysis.max_workers': 0, 'mongo.port': 70_000}})
    expect(broken.warnings).to.deep.equal([])
    expect(broken.errors.map((e) => `${e.path}: ${e.message}`)).to.deep.equal([
      'mongo.port: MongoDB port must be an integer between 1 and 65535, got: 70000',
      'analysis.max_workers: max_workers must be at least 1',
    ])
  })

  it('applies the rules that read other keys: host/db only without a URI', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'drc-v-'))
    const flags = {'mongo.db': '', 'mongo.host': ''}
    // In key table order, whether a rule reads other keys or not (analysis.max_workers: its own range).
    const on = await loadConfig({cwd: dir, env: {}, flags: {...flags, 'analysis.max_workers': 0}})
    expect(on.errors.map((e) => e.path)).to.deep.equal(['mongo.host', 'mongo.db', 'analysis.max_workers'])
    const off = await loadConfig({cwd: dir, env: {DRC_MONGO_URI: 'mongodb://h:27017/domino'}, flags})
    expect(off.errors).to.deep.equal([])
  })

  it('names the key of a bad list item and of a value outside its allowed set', async () => {
    const {errors} = await loadConfig({
      cwd: mkdtempSync(path.join(tmpdir(), 'drc-v-')),
      env: {DRC_REGISTRY_IN_CLUSTER: 'maybe'},
      flags: {'registry.scan_repositories': 'ok/repo, bad repo!'},
    })
    expect(errors.map((e) => `${e.path}: ${e.message}`)).to.deep.equal([
      "registry.scan_repositories: Repository name 'bad repo!' contains invalid characters",
      'kubernetes.registry_in_cluster: must be auto, true or false, got: maybe',
    ])
  })

  it('is one zod schema built from the key table', () => {
    const {shape} = configSchema() as unknown as {shape: Record<string, {shape: Record<string, unknown>}>}
    const paths = Object.entries(shape).flatMap(([section, s]) => Object.keys(s.shape).map((k) => `${section}.${k}`))
    expect(paths).to.deep.equal(KEYS.map((k) => k.path))
    // A value of the wrong type (validateConfig called without the loader's coercion) does not hide the other rules.
    const config = configFrom()
    ;(config.registry as {insecure: unknown}).insecure = 'yes'
    config.retry.max_delay = 0
    expect(validateConfig(config).errors.map((e) => e.path)).to.deep.equal(['registry.insecure', 'retry.max_delay'])
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
