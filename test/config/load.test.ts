import {expect} from 'chai'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {KEYS} from '../../packages/core/src/config/keys.js'
import {loadConfig, reportPath} from '../../packages/core/src/config/load.js'

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'drc-config-'))
}

function writeYaml(dir: string, name: string, text: string): string {
  const file = path.join(dir, name)
  writeFileSync(file, text)
  return file
}

describe('configuration loading', () => {
  it('uses the predecessor defaults when no file exists', async () => {
    const {config, errors, file} = await loadConfig({cwd: tempDir(), env: {}})
    expect(errors).to.deep.equal([])
    expect(file).to.equal(null)
    expect(config.registry.url).to.equal('docker-registry:5000')
    expect(config.registry.repository).to.equal('dominodatalab')
    expect(config.kubernetes.domino_platform_namespace).to.equal('domino-platform')
    expect(config.analysis).to.deep.equal({max_workers: 4, output_dir: 'reports', timeout: 300})
    expect(config.retry).to.deep.equal({
      exponential_base: 2,
      initial_delay: 1,
      jitter: true,
      max_delay: 60,
      max_retries: 3,
      timeout: 300,
    })
    expect(config.cache).to.deep.equal({enabled: true})
    expect(config.s3.bucket).to.equal(null)
    expect(config.s3.region).to.equal('us-west-2')
    expect(config.rate_limit).to.deep.equal({burst_size: 20, enabled: true, requests_per_second: 10})
    expect(config.security).to.include({dry_run_by_default: true, require_confirmation: true})
    expect(config.reports.keep).to.equal(30)
    expect(config.mongo).to.include({db: 'domino', host: 'mongodb-replicaset', port: 27_017, replicaset: 'rs0'})
  })

  it('reads drc.config.yaml found in the working directory and keeps defaults for missing keys', async () => {
    const dir = tempDir()
    writeYaml(dir, 'drc.config.yaml', 'registry:\n  url: registry.example.com:5000\n')
    const {config, file, sources} = await loadConfig({cwd: dir, env: {}})
    expect(file).to.equal(path.join(dir, 'drc.config.yaml'))
    expect(config.registry.url).to.equal('registry.example.com:5000')
    expect(config.registry.repository).to.equal('dominodatalab')
    expect(sources['registry.url']).to.equal(`file:${file}`)
    expect(sources['registry.repository']).to.equal('default')
  })

  it('takes CONFIG_FILE and maps the predecessor key skopeo.rate_limit', async () => {
    const dir = tempDir()
    const file = writeYaml(
      dir,
      'legacy.yaml',
      'registry:\n  repository: acme\nskopeo:\n  rate_limit:\n    requests_per_second: 25\nkubernetes:\n  domino_platform_namespace: platform\n',
    )
    const {config, errors} = await loadConfig({cwd: tempDir(), env: {CONFIG_FILE: file}})
    expect(errors).to.deep.equal([])
    expect(config.registry.repository).to.equal('acme')
    expect(config.rate_limit.requests_per_second).to.equal(25)
    expect(config.kubernetes.domino_platform_namespace).to.equal('platform')
  })

  it('applies file < environment < flags', async () => {
    const dir = tempDir()
    writeYaml(dir, '.drcrc.yaml', 'registry:\n  url: from-file:5000\n  repository: file-repo\nmongo:\n  port: 1000\n')
    const env = {DOMINO_PLATFORM_NAMESPACE: 'env-ns', REGISTRY_URL: 'from-env:5000', REPOSITORY: 'env-repo'}
    const {config, sources} = await loadConfig({
      cwd: dir,
      env,
      flags: {'registry.repository': undefined, 'registry.url': 'from-flag:5000'},
    })
    expect(config.registry.url).to.equal('from-flag:5000')
    expect(sources['registry.url']).to.equal('flag:registry.url')
    expect(config.registry.repository).to.equal('env-repo')
    expect(sources['registry.repository']).to.equal('env:REPOSITORY')
    expect(config.kubernetes.domino_platform_namespace).to.equal('env-ns')
    expect(config.mongo.port).to.equal(1000)
  })

  it('coerces numbers and booleans from environment variables', async () => {
    const {config, errors} = await loadConfig({
      cwd: tempDir(),
      env: {DRC_REGISTRY_INSECURE: 'yes', MONGODB_PORT: '27018', S3_BUCKET: 'my-bucket'},
    })
    expect(errors).to.deep.equal([])
    expect(config.registry.insecure).to.equal(true)
    expect(config.mongo.port).to.equal(27_018)
    expect(config.s3.bucket).to.equal('my-bucket')
  })

  for (const [yaml, expected] of [
    ['analysis:\n  max_workers: not-a-number\n', 'analysis.max_workers must be an integer, got: not-a-number'],
    ['analysis:\n  timeout: not-a-number\n', 'analysis.timeout must be an integer'],
    ['mongo:\n  port: not-a-number\n', 'MongoDB port must be an integer'],
    ['retry:\n  initial_delay: soon\n', 'retry.initial_delay must be a number'],
  ]) {
    it(`names the key of a value that is not a number: ${expected}`, async () => {
      const dir = tempDir()
      writeYaml(dir, 'drc.config.yaml', yaml)
      const {errors} = await loadConfig({cwd: dir, env: {}})
      expect(errors).to.have.length(1)
      expect(errors[0].message).to.contain(expected)
    })
  }

  it('reports a YAML syntax error with the file instead of throwing', async () => {
    const dir = tempDir()
    writeYaml(dir, 'drc.config.yaml', 'registry: [unclosed\n')
    const {config, errors} = await loadConfig({cwd: dir, env: {}})
    expect(errors[0].path).to.equal('config')
    expect(errors[0].message).to.match(/cannot parse configuration file/)
    expect(config.registry.url).to.equal('docker-registry:5000')
  })

  it('keeps the reason and the line/column of YAML and JSON syntax errors, without quoting the file', async () => {
    const dir = tempDir()
    const cases: Array<[string, string, RegExp]> = [
      ['a.yaml', 'registry:\n  password: hunter22\n  url: [open\n', /flow collection at line 4, column 1$/],
      ['b.yaml', 'registry:\n  url: x\n   password: hunter22\n', /bad indentation .* at line 3, column 12$/],
      ['c.json', '{\n  "registry": {\n    "password": "hunter22",\n  }\n}\n', /property name at line 4, column 3$/],
      ['d.json', '{"registry": {"password": "hunter22",\n  "url": x}}\n', /Unexpected token 'x' at line 2, column 10$/],
      ['e.json', '\uFEFF{"registry": {"password": "hunter22"}\n', /at line 2, column 1$/],
    ]
    for (const [name, text, expected] of cases) {
      const file = writeYaml(dir, name, text)
      // eslint-disable-next-line no-await-in-loop
      const {errors} = await loadConfig({cwd: dir, env: {}, file})
      expect(errors, name).to.have.length(1)
      expect(errors[0].message, name).to.include(`cannot parse configuration file ${file}: `)
      expect(errors[0].message, name).to.match(expected)
      expect(errors[0].message, name).not.to.include('hunter22')
    }
  })

  it('refuses an explicit file that does not exist', async () => {
    const {errors} = await loadConfig({cwd: tempDir(), env: {}, file: 'nope.yaml'})
    expect(errors[0].message).to.match(/nope\.yaml does not exist \(from --config\)/)
  })

  it('warns about unknown keys', async () => {
    const dir = tempDir()
    writeYaml(dir, 'drc.config.yaml', 'registry:\n  urll: x\n')
    const {errors, warnings} = await loadConfig({cwd: dir, env: {}})
    expect(errors).to.deep.equal([])
    expect(warnings.map((w) => w.path)).to.deep.equal(['registry.urll'])
  })

  it("accepts the keys nothing reads (cache sizes, old report names) with a warning 'read by nothing; remove it'", async () => {
    const dir = tempDir()
    const yaml = [
      'cache:',
      '  enabled: false',
      ...['tag_list', 'inspect', 'mongo', 'layer'].flatMap((c) => [`  ${c}_ttl: 60`, `  ${c}_max_size: 10`]),
      'reports:',
      ...['archived_tags', 'deactivated_user_envs', 'deletion_analysis', 'old_revisions'].map((r) => `  ${r}: x.json`),
      ...['unused_environments', 'unused_references'].map((r) => `  ${r}: x.json`),
      '  tag_sums: sums.json',
    ].join('\n')
    writeYaml(dir, 'drc.config.yaml', `${yaml}\n`)
    const {config, errors, warnings} = await loadConfig({cwd: dir, env: {}})
    expect(errors).to.deep.equal([])
    expect(config.cache).to.deep.equal({enabled: false})
    expect(config.reports.tag_sums).to.equal('sums.json')
    expect(warnings).to.have.length(14)
    for (const w of warnings) expect(w.message).to.equal(`'${w.path}' is read by nothing; remove it`)
    expect(warnings.map((w) => w.path)).to.include.members(['cache.layer_max_size', 'reports.unused_references'])
    for (const key of KEYS)
      expect(key.path).not.to.match(/^cache\.(?!enabled)|^reports\.(archived|deactivated|deletion|old|unused)/)
  })

  it('places bare report names under output_dir and keeps paths as given', async () => {
    const {config} = await loadConfig({cwd: tempDir(), env: {OUTPUT_DIR: '/data/reports'}})
    expect(reportPath(config, config.reports.mongodb_usage)).to.equal('/data/reports/mongodb_usage_report.json')
    expect(reportPath(config, config.reports.image_analysis)).to.contain('final-report.json')
    expect(reportPath(config, config.reports.tag_sums)).to.match(/^\/data\/reports\/tag-sums\.json$/)
    expect(reportPath(config, '/tmp/x.json')).to.equal('/tmp/x.json')
    expect(reportPath(config, 'sub/x.json')).to.equal('sub/x.json')
  })

  it('has a typed default for every key of the table', async () => {
    const {config} = await loadConfig({cwd: tempDir(), env: {}})
    for (const key of KEYS) {
      const [section, name] = key.path.split('.')
      expect((config as unknown as Record<string, Record<string, unknown>>)[section], key.path).to.have.property(name)
    }
  })
})
