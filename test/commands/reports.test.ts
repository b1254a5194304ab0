import {runCommand} from '@oclif/test'
import {expect} from 'chai'
import {mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type {ImageSizeResult} from '../../src/commands/report/image-size.js'
import type {ReportsResult} from '../../src/commands/reports.js'

import {pushImages} from '../fixtures/push-images.js'
import {testClient} from '../registry/helpers.js'
import {startFaultProxy} from '../support/fault-proxy.js'
import {type RegistryHandle, startRegistry} from '../support/registry.js'

describe('drc reports / report image-size / report user-size (real registry)', () => {
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
    setEnv({CONFIG_FILE: configFile, OUTPUT_DIR: dir, REGISTRY_URL: reg.url, REPOSITORY: 'acme'})
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
    const r = JSON.parse(stdout) as ReportsResult
    expect(r.reused).to.equal(false)
    expect(r.summary).to.include({shared_layers: 1, total_images: 3, total_tags: 4})
    expect(r.images[0].tags).to.deep.equal(['m1'])
    // cold: 2 tag lists + one GET per tag (e2 and e2b share a digest but are fetched as tags)
    expect(r.scan?.requests).to.equal(6)
    expect(r.scan?.cache_hits).to.equal(0)
    expect(path.basename(r.path)).to.match(/^image-analysis-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.json$/)
    expect(readlinkSync(path.join(dir, 'image-analysis-latest.json'))).to.equal(path.basename(r.path))
    expect(r.usage).to.equal(null)
  })

  it('reuses a fresh report, and a warm rescan needs one HEAD per tag', async () => {
    const again = JSON.parse((await runCommand(['reports', '--json'])).stdout) as ReportsResult
    expect(again.reused).to.equal(true)
    const warm = JSON.parse((await runCommand(['reports', '--json', '--generate-reports'])).stdout) as ReportsResult
    expect(warm.reused).to.equal(false)
    // 2 tag lists + 4 HEADs; no GET for unchanged digests
    expect(warm.scan?.requests).to.equal(6)
    expect(warm.scan?.cache_hits).to.be.greaterThan(0)
  })

  it('image-size (and its predecessor alias) lists totals and freed-alone bytes', async () => {
    const r = JSON.parse((await runCommand(['report', 'image-size', '--json'])).stdout) as ImageSizeResult
    expect(r.images.map((i) => i.tags.join(','))).to.deep.equal(['m1', 'e1', 'e2,e2b'])
    const m1 = r.images[0]
    expect(m1.total_bytes - m1.freed_bytes_alone).to.equal(4096) // only the shared base is kept
    const alias = await runCommand(['image_size_report', '--limit', '1'])
    expect(alias.stdout).to.match(/acme\/model:m1\s+12\.\d+KiB\s+8\.\d+KiB/)
  })

  it('user-size refuses clearly until owners come from MongoDB', async () => {
    const {error, stderr} = await runCommand(['report', 'user-size'])
    expect(error?.oclif?.exit).to.equal(1)
    expect(stderr).to.contain('owners from MongoDB')
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
      expect(JSON.parse(stdout).error.message).to.match(
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
