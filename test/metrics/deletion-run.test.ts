import {expect} from 'chai'
import {randomBytes, randomUUID} from 'node:crypto'
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {HtmlReportData} from '../../packages/core/src/html/index.js'
import type {DeletionResult} from '../../packages/core/src/lifecycle/index.js'

import {runCli} from '../../plugins/archived/test/helpers.js'
import {generateDataset, seedMongo} from '../fixtures/index.js'
import {services} from '../support/harness.js'
import {linkedPluginsEnv} from '../support/plugin-cli.js'
import {pushImage} from '../support/registry-push.js'
import {type RegistryHandle, startRegistry} from '../support/registry.js'
import {parseMetrics} from './parse.js'

const REPO = 'dominodatalab/environment'

/** --metrics-file and --html on a deletion command (archived delete, dry run) through bin/run.js: both equal the report. */
describe('deletion run: --metrics-file and --html (real registry + FerretDB)', function () {
  this.timeout(180_000)
  let registry: RegistryHandle
  let env: Record<string, string>
  let dir: string

  before(async () => {
    const dataset = generateDataset({
      environments: 14,
      layerScale: 0.1,
      models: 2,
      now: new Date(),
      revisionsPerEnvironment: 3,
      runs: 30,
      seed: 23,
      users: 3,
      versionsPerModel: 1,
    })
    registry = await startRegistry()
    for (const r of dataset.collections.environment_revisions)
      // eslint-disable-next-line no-await-in-loop
      await pushImage(registry.url, REPO, r.metadata.dockerImageName.tag as string, [randomBytes(2048)])
    const db = `metrics_deletion_${randomUUID().slice(0, 8)}`
    await seedMongo(services().mongo.uri, db, dataset)
    dir = mkdtempSync(path.join(tmpdir(), 'drc-deletion-metrics-'))
    env = {
      ...linkedPluginsEnv('archived'),
      DRC_MONGO_URI: services().mongo.uri,
      DRC_REGISTRY_IN_CLUSTER: 'false',
      MONGODB_DB: db,
      OUTPUT_DIR: dir,
      REGISTRY_URL: registry.url,
      REPOSITORY: 'dominodatalab',
    }
  })

  after(async () => {
    await registry?.stop()
    if (dir) rmSync(dir, {force: true, recursive: true})
  })

  it('archived delete --metrics-file F --html H (dry run) writes both, with the figures of the report', async () => {
    const prom = path.join(dir, 'out', 'drc.prom')
    const html = path.join(dir, 'out', 'plan.html')
    const r = await runCli(
      ['archived', 'delete', '--metrics-file', prom, '--html', html, '--json', '--unused-since-days', '30'],
      {env},
    )
    expect(r.code, r.stderr).to.equal(0)
    const report = r.json() as DeletionResult
    expect(report.planned.length).to.be.greaterThan(0)

    const {value} = parseMetrics(readFileSync(prom, 'utf8'))
    const strategy = {strategy: report.strategy}
    expect(value('drc_strategy_recoverable_bytes', strategy)).to.equal(report.predicted_freed_bytes)
    expect(value('drc_strategy_candidate_images', strategy)).to.equal(report.planned.length)
    expect(value('drc_run_exit_code', strategy)).to.equal(report.exit_code)

    const page = readFileSync(html, 'utf8')
    const json = page.slice(page.indexOf('id="drc-data">') + 'id="drc-data">'.length, page.indexOf('</script>'))
    const data = JSON.parse(json) as HtmlReportData
    expect(data.strategies).to.have.length(1)
    expect(data.strategies[0]).to.deep.include({
      kind: 'plan',
      path: report.report_path,
      predicted_freed_bytes: report.predicted_freed_bytes,
      strategy: report.strategy,
    })
    expect(data.strategies[0].candidates.map((c) => c.digest).sort()).to.deep.equal(
      [...report.planned, ...report.in_use].map((i) => i.digest).sort(),
    )
  })

  it('a bad --pushgateway URL is refused (exit 2) before any work: no report, no page', async () => {
    const outputDir = mkdtempSync(path.join(dir, 'refused-'))
    const html = path.join(outputDir, 'refused.html')
    const r = await runCli(['archived', 'delete', '--pushgateway', 'not a url', '--html', html], {
      env: {...env, OUTPUT_DIR: outputDir},
    })
    expect(r.code, r.stderr).to.equal(2)
    expect(r.stderr).to.match(/--pushgateway must be an http/)
    expect(readdirSync(outputDir)).to.deep.equal([])
  })
})
