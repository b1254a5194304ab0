import {runCommand} from '@oclif/test'
import {expect} from 'chai'
import {MongoClient} from 'mongodb'
import {mkdtempSync, readdirSync, readFileSync, readlinkSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {ReportEnvelope} from '../../../packages/core/src/reports/store.js'
import type {UsageReport} from '../../../packages/core/src/usage/report.js'

import {factsOf, generateDataset} from '../../fixtures/dataset.js'
import {seedMongo} from '../../fixtures/seed-mongo.js'
import {services} from '../../support/harness.js'

const DB = 'usage_commands_test'
const BROKEN_DB = 'usage_commands_broken'

describe('drc usage find / usage report (FerretDB)', function () {
  this.timeout(120_000)
  const dataset = generateDataset({
    environments: 15,
    models: 3,
    now: new Date(),
    revisionsPerEnvironment: 3,
    runs: 120,
    seed: 7,
    users: 3,
    versionsPerModel: 1,
  })
  const facts = factsOf(dataset)
  let mongoUri: string
  let outDir: string
  const saved: Record<string, string | undefined> = {}
  const setEnv = (vars: Record<string, string>) => {
    for (const [k, v] of Object.entries(vars)) {
      if (!(k in saved)) saved[k] = process.env[k]
      process.env[k] = v
    }
  }

  before(async () => {
    // The shared harness server, with this suite's own databases.
    mongoUri = services().mongo.uri
    await seedMongo(mongoUri, DB, dataset)
    await seedMongo(mongoUri, BROKEN_DB, dataset)
    const client = new MongoClient(mongoUri)
    await client.connect()
    await client.db(BROKEN_DB).collection('workspace_session').drop()
    await client.close()
    outDir = mkdtempSync(path.join(tmpdir(), 'drc-usage-'))
    setEnv({DRC_MONGO_URI: mongoUri, MONGODB_DB: DB, OUTPUT_DIR: outDir})
  })

  after(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  })

  it('usage find lists every revision of an environment with its users', async () => {
    const envId = facts.scenarioEnvironmentIds[0]
    const {error, result} = await runCommand<{
      revisions: Array<{tag: string; usage: {inUse: boolean; sources: Array<{kind: string}>}}>
    }>(['usage', 'find', envId, '--json'])
    expect(error).to.equal(undefined)
    expect(result!.revisions).to.have.length(3)
    for (const rev of result!.revisions) {
      const expected = facts.environmentTagUsage[rev.tag]
      expect([...new Set(rev.usage.sources.map((s) => s.kind))].sort(), rev.tag).to.deep.equal(expected)
    }
  })

  it('answers to the predecessor name find_environment_usage and prints a readable listing', async () => {
    const envId = facts.scenarioEnvironmentIds[0]
    const {error, stdout} = await runCommand(['find_environment_usage', envId])
    expect(error).to.equal(undefined)
    expect(stdout).to.contain(`Environment ${envId}`)
    expect(stdout).to.match(/IN USE: .*active revision/)
  })

  it('refuses an invalid environment id with exit code 2 naming the problem', async () => {
    const {error, stderr} = await runCommand(['usage', 'find', '68e64edfcaf3254005314c9g'])
    expect(error?.oclif?.exit).to.equal(2)
    expect(stderr).to.match(/environment id '68e64edfcaf3254005314c9g' is not a valid hexadecimal/)
  })

  it('usage report writes a timestamped, complete, versioned report and moves the latest pointer', async () => {
    const {error, result} = await runCommand<{latest: string; path: string; tags: number}>([
      'usage',
      'report',
      '--json',
    ])
    expect(error).to.equal(undefined)
    expect(path.basename(result!.path)).to.match(
      /^mongodb_usage_report-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}Z\.json$/,
    )
    const envelope = JSON.parse(readFileSync(result!.path, 'utf8')) as ReportEnvelope<UsageReport>
    expect(envelope).to.include({complete: true, schema: 'mongodb_usage_report', schema_version: 1})
    const report = envelope.data
    expect(report.database).to.equal(DB)
    expect(report.tags.length).to.equal(result!.tags)
    const envTags = report.tags.filter((t) => t.imageType === 'environment').map((t) => t.tag)
    expect(envTags.sort()).to.deep.equal(Object.keys(facts.environmentTagUsage).sort())
    expect(path.basename(result!.latest)).to.equal('mongodb_usage_report-latest.json')
    expect(readlinkSync(result!.latest)).to.equal(path.basename(result!.path))
  })

  it('usage report --output writes exactly that file and leaves the latest pointer alone', async () => {
    const latest = path.join(outDir, 'mongodb_usage_report-latest.json')
    const pointed = readlinkSync(latest)
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'drc-usage-out-')), 'usage.json')
    const {error, result} = await runCommand<{latest: null | string; path: string}>([
      'usage',
      'report',
      '--output',
      file,
      '--json',
    ])
    expect(error).to.equal(undefined)
    expect(result).to.include({latest: null, path: file})
    expect((JSON.parse(readFileSync(file, 'utf8')) as ReportEnvelope<UsageReport>).complete).to.equal(true)
    expect(readlinkSync(latest)).to.equal(pointed)
  })

  it('usage report fails (exit 1) naming a missing required collection, and writes nothing', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'drc-usage-broken-'))
    setEnv({MONGODB_DB: BROKEN_DB, OUTPUT_DIR: dir})
    try {
      const {error, stderr} = await runCommand(['usage', 'report'])
      expect(error?.oclif?.exit).to.equal(1)
      expect(stderr).to.match(/usage source 'workspace_session' cannot be read: the collection does not exist/)
      expect(readdirSync(dir)).to.deep.equal([])
    } finally {
      setEnv({MONGODB_DB: DB, OUTPUT_DIR: outDir})
    }
  })
})
