import {runCommand} from '@oclif/test'
import {expect} from 'chai'
import {mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type {ImageSizeResult} from '../../src/commands/report/image-size.js'

import {pushImages} from '../fixtures/push-images.js'
import {testClient} from '../registry/helpers.js'
import {services} from '../support/harness.js'

/** Unique per run: the harness registry is shared. */
const PREFIX = `imgsize${Date.now().toString(36)}`
const ENV_A = '68e64edfcaf3254005314c90'
const ENV_B = '68e64edfcaf3254005314c91'
const MODEL = '68e66410caf3254005314cdd'

const tagsOf = (r: ImageSizeResult): string[] => r.images.flatMap((i) => i.tags).sort()

describe('drc report image-size: ObjectId and tag-prefix filters (real registry)', () => {
  let dir: string
  const saved: Record<string, string | undefined> = {}

  before(async () => {
    const client = testClient(services().registry.url)
    const base = {seed: `${PREFIX}-base`, size: 4096}
    await pushImages(client, [
      {layers: [base, {seed: `${PREFIX}-a1`, size: 2048}], repository: `${PREFIX}/environment`, tags: [`${ENV_A}-1`]},
      {layers: [base, {seed: `${PREFIX}-a2`, size: 1024}], repository: `${PREFIX}/environment`, tags: [`${ENV_A}-2`]},
      {layers: [base, {seed: `${PREFIX}-b1`, size: 512}], repository: `${PREFIX}/environment`, tags: [`${ENV_B}-1`]},
      {
        layers: [base, {seed: `${PREFIX}-m1`, size: 8192}],
        repository: `${PREFIX}/model`,
        tags: [`${MODEL}-v1-20251009_abc`],
      },
    ])
    await client.close()
    dir = mkdtempSync(path.join(os.tmpdir(), 'drc-cmd-image-size-'))
    const configFile = path.join(dir, 'drc.config.yaml')
    writeFileSync(configFile, 'retry:\n  initial_delay: 0.05\n  max_delay: 0.1\n  max_retries: 1\n')
    const env = {CONFIG_FILE: configFile, OUTPUT_DIR: dir, REGISTRY_URL: services().registry.url, REPOSITORY: PREFIX}
    for (const [k, v] of Object.entries(env)) {
      saved[k] = process.env[k]
      process.env[k] = v
    }
  })

  after(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }

    rmSync(dir, {force: true, recursive: true})
  })

  it('--file lists only the images of those ids, with sizes computed registry-wide', async () => {
    const all = JSON.parse((await runCommand(['report', 'image-size', '--json', '--generate-reports'])).stdout).result
    expect(tagsOf(all)).to.have.length(4)
    expect(all.filter).to.equal(null)

    const ids = path.join(dir, 'ids.txt')
    writeFileSync(ids, `# environments and models\nenvironment:${ENV_A.toUpperCase()}\n\nmodel:${MODEL}\n`)
    const {stdout} = await runCommand(['report', 'image-size', '--json', '--file', ids])
    const r = JSON.parse(stdout).result as ImageSizeResult
    expect(tagsOf(r)).to.deep.equal([`${ENV_A}-1`, `${ENV_A}-2`, `${MODEL}-v1-20251009_abc`])
    expect(r.filter).to.deep.equal({ids: [ENV_A, MODEL], tag_prefixes: []})
    // The shared base layer is used by ENV_B's image too (outside the selection): never counted as freed.
    for (const row of r.images) {
      const same = (all as ImageSizeResult).images.find((i) => i.digest === row.digest)!
      expect(row.freed_bytes_alone).to.equal(same.freed_bytes_alone)
      expect(row.total_bytes - row.freed_bytes_alone).to.be.at.least(4096)
    }
  })

  it('--object-id and --tag-prefix select by id and by plain prefix', async () => {
    const {stdout} = await runCommand([
      'report',
      'image-size',
      '--json',
      '--object-id',
      ENV_B,
      '--tag-prefix',
      `${MODEL}-v1`,
    ])
    const r = JSON.parse(stdout).result as ImageSizeResult
    expect(tagsOf(r)).to.deep.equal([`${ENV_B}-1`, `${MODEL}-v1-20251009_abc`])
    // An id matches whole "<id>-" prefixes only: a shorter string is not an id.
    const none = JSON.parse(
      (await runCommand(['report', 'image-size', '--json', '--tag-prefix', 'nomatch'])).stdout,
    ).result
    expect(none.images).to.deep.equal([])
  })

  it('an id file with bad lines is refused with exit 2, naming every bad line, before anything is scanned', async () => {
    const sub = mkdtempSync(path.join(os.tmpdir(), 'drc-cmd-image-size-bad-'))
    const saveOut = process.env.OUTPUT_DIR
    process.env.OUTPUT_DIR = sub
    try {
      const ids = path.join(sub, 'ids.txt')
      writeFileSync(ids, `environment:${ENV_A}\nmodel:12345\n# fine\n${ENV_B}\nmodelVersion:${MODEL}\n`)
      const {error, stderr} = await runCommand(['report', 'image-size', '--file', ids])
      expect(error?.oclif?.exit).to.equal(2)
      expect(stderr).to.include('3 invalid line(s)')
      expect(stderr).to.include(`${ids}:2:`)
      expect(stderr).to.include(`${ids}:4:`)
      expect(stderr).to.include(`${ids}:5: modelVersion ids are not accepted here`)
      expect(stderr).not.to.include(`${ids}:1:`)
      const bad = await runCommand(['report', 'image-size', '--object-id', 'not-an-id'])
      expect(bad.error?.oclif?.exit).to.equal(2)
      expect(bad.stderr).to.include("--object-id 'not-an-id'")
      // Nothing ran: no analysis, no size report.
      expect(readdirSync(sub).filter((f) => f.endsWith('.json'))).to.deep.equal([])
    } finally {
      process.env.OUTPUT_DIR = saveOut
      rmSync(sub, {force: true, recursive: true})
    }
  })
})
