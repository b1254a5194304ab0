import {expect} from 'chai'
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type {DrcConfig} from '../../packages/core/src/config/types.js'

import {loadConfig} from '../../packages/core/src/config/load.js'
import {IMAGE_ANALYSIS} from '../../packages/core/src/reports/image-analysis.js'
import {describesScanOf, obtainImageAnalysis} from '../../packages/core/src/reports/obtain.js'
import {writeReport} from '../../packages/core/src/reports/store.js'
import {pushImages} from '../fixtures/push-images.js'
import {testClient} from '../registry/helpers.js'
import {type RegistryHandle, startRegistry} from '../support/registry.js'

describe('reports: a fresh image analysis is reused only for the registry it describes', function () {
  this.timeout(60_000)
  let registry: RegistryHandle
  let dir: string
  let config: DrcConfig

  before(async () => {
    registry = await startRegistry()
    await pushImages(testClient(registry.url), [
      {layers: [{seed: 'obtain-a', size: 2048}], repository: 'acme/environment', tags: ['e1-1']},
    ])
  })

  after(async () => registry.stop())

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'drc-obtain-'))
    config = (
      await loadConfig({
        cwd: dir,
        env: {OUTPUT_DIR: dir, REGISTRY_URL: registry.url, REPOSITORY: 'acme'},
        flags: {'rate_limit.enabled': false},
      })
    ).config
  })

  afterEach(() => rmSync(dir, {force: true, recursive: true}))

  it('scans again when the fresh report came from another registry, and reuses its own', async () => {
    const foreign = {
      images: [],
      layers: [],
      registry_url: 'http://127.0.0.1:1',
      repositories: [
        {repository: 'acme/environment', tags: 0},
        {repository: 'acme/model', tags: 0},
      ],
      scan: {},
      summary: {},
    }
    await writeReport(config, IMAGE_ANALYSIS.name, foreign, {schemaVersion: IMAGE_ANALYSIS.version})
    const first = await obtainImageAnalysis(config, {generate: false, maxAgeHours: 24, quiet: true})
    expect(first.reused).to.equal(false)
    expect(first.report.registry_url).to.equal(registry.url)
    expect(first.report.images.flatMap((i) => i.tags)).to.deep.equal(['e1-1'])
    const second = await obtainImageAnalysis(config, {generate: false, maxAgeHours: 24, quiet: true})
    expect(second.reused).to.equal(true)
    expect(second.path).to.equal(first.path)
  })

  it('judges the repositories and --all-repositories too', () => {
    const report = {
      registry_url: registry.url,
      repositories: [
        {repository: 'acme/environment', tags: 1},
        {repository: 'acme/model', tags: 0},
      ],
    }
    expect(describesScanOf(report, config)).to.equal(true)
    expect(describesScanOf(report, config, true)).to.equal(false)
    expect(describesScanOf({...report, repositories: report.repositories.slice(0, 1)}, config)).to.equal(false)
    expect(describesScanOf({...report, registry_url: `${registry.url}0`}, config)).to.equal(false)
  })
})
