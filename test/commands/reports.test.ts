import {runCommand} from '@oclif/test'
import {expect} from 'chai'
import {type Document, MongoClient, ObjectId} from 'mongodb'
import {mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type {ImageAnalysisReport} from '../../packages/core/src/reports/image-analysis.js'
import type {ReportEnvelope} from '../../packages/core/src/reports/store.js'
import type {ImageSizeResult} from '../../src/commands/report/image-size.js'
import type {UserSizeResult} from '../../src/commands/report/user-size.js'
import type {ReportsResult} from '../../src/commands/reports.js'

import {pushImages} from '../fixtures/push-images.js'
import {testClient} from '../registry/helpers.js'
import {startFaultProxy} from '../support/fault-proxy.js'
import {services} from '../support/harness.js'
import {type RegistryHandle, startRegistry} from '../support/registry.js'

const DB = 'reports_command_test'
const BROKEN_DB = 'reports_command_broken'
const oid = (n: number) => ObjectId.createFromHexString(`5f000000${String(n).padStart(16, '0')}`)
const [ALICE, BOB, ENV, R1, R2, MODEL] = [1, 2, 3, 4, 5, 6].map((n) => oid(n))

/**
 * MongoDB for the pushed images: e1 is the active revision (used), e2 an old revision (unused), e2b (same digest
 * as e2) is unknown to MongoDB, and m1 belongs to an archived model (unused). alice owns the environment, bob the model.
 */
const COLLECTIONS: Record<string, Document[]> = {
  environment_revisions: [
    {_id: R1, environmentId: ENV, metadata: {dockerImageName: {repository: 'acme/environment', tag: 'e1'}}},
    {_id: R2, environmentId: ENV, metadata: {dockerImageName: {repository: 'acme/environment', tag: 'e2'}}},
  ],
  environments_v2: [{_id: ENV, activeRevisionId: R1, isArchived: false, name: 'env', ownerId: ALICE}],
  model_versions: [
    {
      _id: oid(7),
      environmentRevisionId: R1,
      metadata: {builds: [{slug: {image: {repository: 'acme/model', tag: 'm1'}}}], createdBy: BOB},
      modelId: {value: MODEL},
    },
  ],
  models: [{_id: MODEL, collaboratorSettings: [{collaboratorId: BOB, role: 'Owner'}], isArchived: true, name: 'm'}],
  projects: [],
  runs: [],
  scheduler_jobs: [],
  users: [
    {_id: ALICE, fullName: 'Alice', loginId: {id: 'alice'}},
    {_id: BOB, fullName: 'Bob', loginId: {id: 'bob'}},
  ],
  workspace: [],
  workspace_session: [],
}

async function seed(uri: string): Promise<void> {
  const client = new MongoClient(uri)
  await client.connect()
  try {
    for (const name of [DB, BROKEN_DB]) {
      const db = client.db(name)
      // eslint-disable-next-line no-await-in-loop -- two small databases, one after the other
      await db.dropDatabase()
      for (const [coll, docs] of Object.entries(COLLECTIONS)) {
        // The broken database lacks a required source.
        if (name === BROKEN_DB && coll === 'workspace') continue
        // eslint-disable-next-line no-await-in-loop -- collection by collection
        await db.createCollection(coll)
        // eslint-disable-next-line no-await-in-loop -- collection by collection
        if (docs.length > 0) await db.collection(coll).insertMany(docs)
      }
    }
  } finally {
    await client.close()
  }
}

describe('drc reports / report image-size / report user-size (real registry + MongoDB)', () => {
  let reg: RegistryHandle
  let dir: string
  const saved: Record<string, string | undefined> = {}
  const setEnv = (vars: Record<string, string>): void => {
    for (const [k, v] of Object.entries(vars)) {
      if (!(k in saved)) saved[k] = process.env[k]
      process.env[k] = v
    }
  }

  before(async () => {
    reg = await startRegistry()
    dir = mkdtempSync(path.join(os.tmpdir(), 'drc-cmd-reports-'))
    const client = testClient(reg.url)
    await pushImages(client, [
      {
        layers: [
          {seed: 'base', size: 4096},
          {seed: 'e1', size: 2048},
        ],
        repository: 'acme/environment',
        tags: ['e1'],
      },
      {
        layers: [
          {seed: 'base', size: 4096},
          {seed: 'e2', size: 1024},
        ],
        repository: 'acme/environment',
        tags: ['e2', 'e2b'],
      },
      {
        layers: [
          {seed: 'base', size: 4096},
          {seed: 'm1', size: 8192},
        ],
        repository: 'acme/model',
        tags: ['m1'],
      },
    ])
    await client.close()
    const configFile = path.join(dir, 'drc.config.yaml')
    // Fast retries so the dead-registry case fails in well under a second.
    writeFileSync(configFile, 'retry:\n  initial_delay: 0.05\n  max_delay: 0.1\n  max_retries: 1\n')
    const mongoUri = services().mongo.uri
    await seed(mongoUri)
    setEnv({
      CONFIG_FILE: configFile,
      DRC_MONGO_URI: mongoUri,
      MONGODB_DB: DB,
      OUTPUT_DIR: dir,
      REGISTRY_URL: reg.url,
      REPOSITORY: 'acme',
    })
  })

  after(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }

    await reg?.stop()
    rmSync(dir, {force: true, recursive: true})
  })

  it('scans, writes a timestamped report with a latest pointer, and keeps stdout pure JSON', async () => {
    const {stdout} = await runCommand(['reports', '--json', '--generate-reports'])
    const r = JSON.parse(stdout).result as ReportsResult
    expect(r.reused).to.equal(false)
    expect(r.summary).to.include({shared_layers: 1, total_images: 3, total_tags: 4})
    expect(r.images[0].tags).to.deep.equal(['m1'])
    // cold: 2 tag lists + one GET per tag (e2 and e2b share a digest but are fetched as tags)
    expect(r.scan?.requests).to.equal(6)
    expect(r.scan?.cache_hits).to.equal(0)
    expect(path.basename(r.path)).to.match(/^image-analysis-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z\.json$/)
    expect(readlinkSync(path.join(dir, 'image-analysis-latest.json'))).to.equal(path.basename(r.path))
    expect(readlinkSync(path.join(dir, 'mongodb_usage_report-latest.json'))).to.equal(
      path.basename(r.usage.usage_report.path),
    )
  })

  it('joins MongoDB usage: used / unused / unknown per repository, freed bytes and top owners', async () => {
    const r = JSON.parse((await runCommand(['reports', '--json'])).stdout).result as ReportsResult
    const image = (tag: string) => r.images.find((i) => i.tags.includes(tag))!
    const [env, model] = r.usage.repositories
    expect(env).to.deep.include({image_type: 'environment', repository: 'acme/environment', tags: 3})
    expect(env.used).to.deep.equal({bytes: image('e1').total_bytes, tags: 1})
    // e2 is unused, but its digest also carries e2b, which MongoDB does not know: unknown is never unused,
    // so deleting the unused tags of this repository frees nothing.
    expect(env.unused).to.deep.equal({bytes: image('e2').total_bytes, freed_bytes: 0, kept_by_other_tags: 1, tags: 1})
    expect(env.unknown).to.deep.equal({bytes: image('e2b').total_bytes, tags: 1})
    expect(model).to.deep.include({image_type: 'model', repository: 'acme/model', tags: 1})
    expect(model.unused).to.deep.equal({
      bytes: image('m1').total_bytes,
      freed_bytes: image('m1').unique_bytes,
      kept_by_other_tags: 0,
      tags: 1,
    })
    expect(model.unused.freed_bytes)
      .to.be.greaterThan(8192)
      .and.lessThan(8192 + 4096)
    expect(r.usage.total).to.deep.include({tags: 4})
    expect(r.usage.total.unused.freed_bytes).to.equal(image('m1').unique_bytes)
    expect(r.usage.top_users.map((u) => [u.owner, u.user_name, u.images, u.total_bytes])).to.deep.equal([
      ['bob', 'Bob', 1, image('m1').total_bytes],
      ['alice', 'Alice', 2, image('e1').total_bytes + image('e2').total_bytes],
    ])
    // Reused reports (image analysis from the manifest cache, usage report from disk) give the same answer.
    expect(r.reused).to.equal(true)
    expect(r.usage.usage_report.reused).to.equal(true)
  })

  it('prints the tag usage table in the human output', async () => {
    const {stdout} = await runCommand(['reports'])
    expect(stdout).to.match(/acme\/environment\s+3\s+1 \(.+\)\s+1 \(.+\)\s+0B\s+1 \(.+\)/)
    expect(stdout).to.contain('1 tag(s) are unknown to MongoDB')
    expect(stdout).to.match(/Top users of space:\n(?:.*\n)*?\s*bob\s+Bob\s+1/)
  })

  it('fails naming the MongoDB source it cannot read, before scanning, and writes no report', async () => {
    const before = readdirSync(dir).sort()
    process.env.MONGODB_DB = BROKEN_DB
    try {
      const {error, stderr} = await runCommand(['reports', '--generate-reports'])
      expect(error?.oclif?.exit).to.equal(1)
      expect(stderr).to.match(/usage source 'workspace' cannot be read: the collection does not exist/)
    } finally {
      process.env.MONGODB_DB = DB
    }

    expect(readdirSync(dir).sort()).to.deep.equal(before)
  })

  it('reuses a fresh report, and a warm rescan needs one HEAD per tag', async () => {
    const again = JSON.parse((await runCommand(['reports', '--json'])).stdout).result as ReportsResult
    expect(again.reused).to.equal(true)
    const warm = JSON.parse((await runCommand(['reports', '--json', '--generate-reports'])).stdout)
      .result as ReportsResult
    expect(warm.reused).to.equal(false)
    // 2 tag lists + 4 HEADs; no GET for unchanged digests
    expect(warm.scan?.requests).to.equal(6)
    expect(warm.scan?.cache_hits).to.be.greaterThan(0)
  })

  it('--legacy-files writes the predecessor files, agreeing with the image analysis; --output saves the whole result', async () => {
    const out = path.join(dir, 'saved', 'whole.json')
    const {stdout} = await runCommand(['reports', '--json', '--legacy-files', '--output', out])
    const r = JSON.parse(stdout).result as ReportsResult
    const read = (file: string) => JSON.parse(readFileSync(file, 'utf8'))
    // The image analysis stays in output_dir; --output is an extra, whole-result file.
    expect(path.dirname(r.path)).to.equal(dir)
    expect(readlinkSync(path.join(dir, 'image-analysis-latest.json'))).to.equal(path.basename(r.path))
    const analysis = (read(r.path) as ReportEnvelope<ImageAnalysisReport>).data
    const files = r.legacy_files!
    const stems = {
      filtered_layers: 'filtered-layers',
      image_analysis: 'final-report',
      images_report: 'images-report',
      layers_and_sizes: 'layers-and-sizes',
      tag_sums: 'tag-sums',
      tags_per_layer: 'tags-per-layer',
    }
    expect(Object.keys(files).sort()).to.deep.equal(Object.keys(stems))
    for (const [key, stem] of Object.entries(stems)) {
      const file = files[key as keyof typeof stems]
      expect(path.dirname(file)).to.equal(dir)
      expect(path.basename(file)).to.equal(
        `${stem}-${r.generated_at.replace(/\.\d{3}Z$/, 'Z').replaceAll(':', '-')}.json`,
      )
    }

    const final = read(files.image_analysis)
    // Plain JSON (no envelope), one entry per layer of the analysis, tags named by image type.
    expect(final).to.not.have.property('schema')
    expect(Object.keys(final).sort()).to.deep.equal(analysis.layers.map((l) => l.digest).sort())
    for (const l of analysis.layers)
      expect(final[l.digest]).to.deep.equal({
        environments: l.environments,
        size: l.size,
        tags: l.tags.map((t) => t.replace(/^acme\//, '')),
      })
    const byDigest = (f: (l: ImageAnalysisReport['layers'][number]) => unknown) =>
      Object.fromEntries(analysis.layers.map((l) => [l.digest, f(l)]))
    expect(read(files.tags_per_layer)).to.deep.equal(byDigest((l) => l.ref_count))
    expect(read(files.layers_and_sizes)).to.deep.equal(byDigest((l) => l.size))
    const single = analysis.layers.filter((l) => l.ref_count === 1).map((l) => l.digest)
    expect(single).to.have.length(r.summary.single_use_layers)
    expect(Object.keys(read(files.filtered_layers)).sort()).to.deep.equal(single.sort())
    // Each image's own layer (pushed with these exact sizes); e2 and e2b are one image and both own its layer.
    expect(read(files.tag_sums)).to.deep.equal({
      'environment:e1': {environments: ['e1'], size: 2048},
      'environment:e2': {environments: ['e2', 'e2b'], size: 1024},
      'environment:e2b': {environments: ['e2', 'e2b'], size: 1024},
      'model:m1': {environments: ['m1'], size: 8192},
    })
    const imagesReport = read(files.images_report)
    expect(imagesReport.layers).to.deep.equal(final)
    expect(imagesReport.summary).to.deep.include(r.summary)

    // --output holds exactly what --json printed: image analysis and tag usage.
    const saved = read(out) as ReportEnvelope<ReportsResult>
    expect(saved).to.include({complete: true, schema: 'reports', schema_version: 1})
    expect(saved.data).to.deep.equal(r)
    expect(saved.data.output).to.equal(out)
    expect(saved.data.usage.total).to.deep.include({tags: 4})
    expect(saved.data.usage.repositories.map((x) => x.repository)).to.deep.equal(['acme/environment', 'acme/model'])
  })

  it('without --legacy-files or --output writes neither; with it the human output lists the files', async () => {
    const before = readdirSync(dir).sort()
    const r = JSON.parse((await runCommand(['reports', '--json'])).stdout).result as ReportsResult
    expect(r).to.include({legacy_files: null, output: null})
    expect(readdirSync(dir).sort()).to.deep.equal(before)
    const human = await runCommand(['reports', '--legacy-files'])
    expect(human.stdout).to.match(/Predecessor analysis files:\n {2}\S+\/final-report-\S+Z\.json\n/)
  })

  it('image-size (and its predecessor alias) lists totals and freed-alone bytes', async () => {
    const r = JSON.parse((await runCommand(['report', 'image-size', '--json'])).stdout).result as ImageSizeResult
    expect(r.images.map((i) => i.tags.join(','))).to.deep.equal(['m1', 'e1', 'e2,e2b'])
    const m1 = r.images[0]
    expect(m1.total_bytes - m1.freed_bytes_alone).to.equal(4096) // only the shared base is kept
    const alias = await runCommand(['image_size_report', '--limit', '1'])
    expect(alias.stdout).to.match(/acme\/model\s+m1\s+12\.\d+KiB\s+8\.\d+KiB/)
  })

  it('user-size (and its predecessor alias) sums space per owner from MongoDB', async () => {
    const r = JSON.parse((await runCommand(['report', 'user-size', '--json'])).stdout).result as UserSizeResult
    const analysis = JSON.parse((await runCommand(['reports', '--json'])).stdout).result as ReportsResult
    const image = (tag: string) => analysis.images.find((i) => i.tags.includes(tag))!
    expect(r.owners.map((o) => [o.owner, o.images, o.tags, o.total_bytes, o.freed_bytes])).to.deep.equal([
      ['bob', 1, 1, image('m1').total_bytes, image('m1').unique_bytes],
      // alice's two images share the base layer with bob's: only their own layers, configs and manifests go.
      [
        'alice',
        2,
        3,
        image('e1').total_bytes + image('e2').total_bytes,
        image('e1').unique_bytes + image('e2').unique_bytes,
      ],
    ])
    expect(path.basename(r.path)).to.match(/^user-size-report-.*Z\.json$/)
    const alias = await runCommand(['user_size_report'])
    expect(alias.stdout).to.match(/bob\s+Bob\s+1\s+1\s+12\.\d+KiB/)
  })

  it('a registry that dies mid-scan fails naming the tag and marks no report complete', async () => {
    const before = readdirSync(dir)
      .filter((f) => f.startsWith('image-analysis-2'))
      .sort()
    const latest = readlinkSync(path.join(dir, 'image-analysis-latest.json'))
    // 2 tag lists and 1 manifest go through, then the registry is gone (sockets reset, port closed).
    const proxy = await startFaultProxy(reg.url, {dieAfter: 3})
    process.env.REGISTRY_URL = proxy.url
    try {
      const {stdout} = await runCommand(['reports', '--json', '--generate-reports'])
      expect(process.exitCode).to.equal(1)
      process.exitCode = 0
      expect(JSON.parse(stdout).message).to.match(
        /registry unavailable while requesting acme\/(environment:e|model:m)\w+/,
      )
    } finally {
      process.env.REGISTRY_URL = reg.url
      await proxy.stop()
    }

    expect(
      readdirSync(dir)
        .filter((f) => f.startsWith('image-analysis-2'))
        .sort(),
    ).to.deep.equal(before)
    expect(readlinkSync(path.join(dir, 'image-analysis-latest.json'))).to.equal(latest)
  })
})
