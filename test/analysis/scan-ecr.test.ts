import {CreateRepositoryCommand, ECRClient, PutImageCommand} from '@aws-sdk/client-ecr'
import {expect} from 'chai'
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type {BlobGraph} from '../../packages/core/src/analysis/graph.js'
import type {DrcConfig} from '../../packages/core/src/config/types.js'
import type {ImageSpec} from '../fixtures/types.js'

import {scanRegistry} from '../../packages/core/src/analysis/scan.js'
import {analyseRegistry} from '../../packages/core/src/analysis/service.js'
import {loadConfig} from '../../packages/core/src/config/load.js'
import {pushImages} from '../fixtures/push-images.js'
import {testClient} from '../registry/helpers.js'
import {services} from '../support/harness.js'

/** Unique per run: the harness registry and moto are shared by every test file. */
const PREFIX = `ecr${Date.now().toString(36)}`
const ENV = `${PREFIX}/environment`
const MODEL = `${PREFIX}/model`
const ECR_HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com'

/** Graph answers in a canonical order: their order follows scan completion, which is concurrent. */
const images = (g: BlobGraph) =>
  g.imageSizes().sort((a, b) => `${a.repository}@${a.digest}`.localeCompare(`${b.repository}@${b.digest}`))
const layers = (g: BlobGraph) =>
  g
    .layers()
    .map((l) => ({...l, tags: [...l.tags].sort()}))
    .sort((a, b) => a.digest.localeCompare(b.digest))

async function ecrConfig(outputDir: string): Promise<DrcConfig> {
  const {config} = await loadConfig({cwd: outputDir, env: {OUTPUT_DIR: outputDir}})
  config.registry.url = ECR_HOST
  config.registry.repository = PREFIX
  return config
}

/** Shared layers across repositories, two tags on one digest, a multi-arch index, a buildcache tag. */
const IMAGES: ImageSpec[] = [
  ...['e1', 'e2'].map((t) => ({
    layers: [
      {seed: 'ecr-os', size: 4096},
      {seed: `ecr-${t}`, size: 512},
    ],
    repository: ENV,
    tags: [t],
  })),
  {layers: [{seed: 'ecr-e3', size: 700}], repository: ENV, tags: ['e3', 'e3-alias']},
  {layers: [{seed: 'ecr-bc', size: 100}], repository: ENV, tags: ['buildcache']},
  {
    layers: [
      {seed: 'ecr-os', size: 4096},
      {seed: 'ecr-m1', size: 300},
    ],
    repository: MODEL,
    tags: ['m1'],
  },
  {
    layers: [],
    platforms: [
      {architecture: 'amd64', layers: [{seed: 'ecr-os', size: 4096}], os: 'linux'},
      {architecture: 'arm64', layers: [{seed: 'ecr-arm', size: 900}], os: 'linux'},
    ],
    repository: MODEL,
    tags: ['multi'],
  },
]

describe('ECR scan through DescribeImages/BatchGetImage (moto) builds the same graph as the registry API', () => {
  const saved = {id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY}
  let dirs: string[] = []
  const tmp = (): string => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'drc-ecr-scan-'))
    dirs.push(d)
    return d
  }

  before(async () => {
    const {s3} = services()
    process.env.AWS_ACCESS_KEY_ID = s3.accessKeyId
    process.env.AWS_SECRET_ACCESS_KEY = s3.secretAccessKey
    const client = testClient(services().registry.url)
    await pushImages(client, IMAGES)
    // Copy exactly what the registry holds into moto's ECR (same bytes, same digests), index children untagged.
    const ecr = new ECRClient({endpoint: s3.endpoint, region: 'us-east-1'})
    for (const repo of [ENV, MODEL]) {
      // eslint-disable-next-line no-await-in-loop
      await ecr.send(new CreateRepositoryCommand({repositoryName: repo}))
      // eslint-disable-next-line no-await-in-loop
      for (const tag of await client.listTags(repo)) {
        // eslint-disable-next-line no-await-in-loop
        const m = await client.getManifest(repo, tag)
        const children = m.manifest.kind === 'index' ? m.manifest.manifests.map((c) => c.digest) : []
        for (const child of children) {
          // eslint-disable-next-line no-await-in-loop
          const c = await client.getManifest(repo, child)
          // eslint-disable-next-line no-await-in-loop
          await ecr.send(
            new PutImageCommand({
              imageDigest: c.digest,
              imageManifest: c.body.toString('utf8'),
              imageManifestMediaType: c.mediaType,
              repositoryName: repo,
            }),
          )
        }

        // eslint-disable-next-line no-await-in-loop
        await ecr.send(
          new PutImageCommand({
            imageDigest: m.digest,
            imageManifest: m.body.toString('utf8'),
            imageManifestMediaType: m.mediaType,
            imageTag: tag,
            repositoryName: repo,
          }),
        )
      }
    }

    ecr.destroy()
    await client.close()
  })

  after(() => {
    if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID
    else process.env.AWS_ACCESS_KEY_ID = saved.id
    if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY
    else process.env.AWS_SECRET_ACCESS_KEY = saved.secret
    for (const d of dirs) rmSync(d, {force: true, recursive: true})
    dirs = []
  })

  const env = (): NodeJS.ProcessEnv => ({...process.env, AWS_ENDPOINT_URL_ECR: services().s3.endpoint})

  it('finds every image with the same sizes and sharing; cold: bulk calls only, warm: no manifest fetch', async () => {
    const client = testClient(services().registry.url)
    const expected = await scanRegistry(client, {concurrency: 4, repositories: [ENV, MODEL]})
    await client.close()

    const dir = tmp()
    const config = await ecrConfig(dir)
    const cold = await analyseRegistry(config, {cacheDir: path.join(dir, 'cache'), env: env()})
    expect(cold.stats.backend).to.equal('ecr-api')
    expect(cold.repositories).to.deep.equal(expected.repositories)
    expect(cold.repositories).to.deep.equal([
      {repository: ENV, tags: 4},
      {repository: MODEL, tags: 2},
    ])
    expect(images(cold.graph)).to.deep.equal(images(expected.graph))
    expect(cold.graph.summary()).to.deep.equal(expected.graph.summary())
    expect(layers(cold.graph)).to.deep.equal(layers(expected.graph))
    // DescribeImages per repository (2) + BatchGetImage: environment 1, model 1 + 1 round for the index children.
    expect(cold.stats.requests).to.equal(5)

    const warm = await analyseRegistry(config, {cacheDir: path.join(dir, 'cache'), env: env()})
    expect(warm.stats.requests).to.equal(2)
    expect(images(warm.graph)).to.deep.equal(images(expected.graph))
  })

  it('applies the tag filter, and a repository ECR does not have is empty', async () => {
    const dir = tmp()
    const config = await ecrConfig(dir)
    config.registry.scan_repositories = [ENV, `${PREFIX}/nothing-here`]
    const run = await analyseRegistry(config, {cacheDir: null, env: env(), tagFilter: (t) => t.startsWith('e3')})
    expect(run.repositories).to.deep.equal([
      {repository: ENV, tags: 2},
      {repository: `${PREFIX}/nothing-here`, tags: 0},
    ])
    expect(run.graph.imageSizes().map((i) => i.tags)).to.deep.equal([['e3', 'e3-alias']])
  })
})
