import {expect} from 'chai'
import {randomUUID} from 'node:crypto'

import {pushImages} from '../fixtures/push-images.js'
import {testClient} from '../registry/helpers.js'
import {isolatedOclifEnv, runCli} from '../support/cli.js'
import {services} from '../support/harness.js'
import {createBucket} from '../support/moto.js'
import {type RegistryHandle, startRegistry} from '../support/registry.js'

describe('drc backup create / verify / restore (real registry + moto S3, through bin/run.js)', function () {
  this.timeout(120_000)
  let registry: RegistryHandle
  let env: Record<string, string>
  const images = [
    {
      layers: [
        {seed: 'cli-base', size: 4096},
        {seed: 'cli-1', size: 700},
      ],
      repository: 'acme/environment',
      tags: ['e1-1'],
    },
    {
      layers: [
        {seed: 'cli-base', size: 4096},
        {seed: 'cli-2', size: 900},
      ],
      repository: 'acme/environment',
      tags: ['e1-2'],
    },
  ]

  before(async () => {
    registry = await startRegistry()
    await pushImages(testClient(registry.url), images)
    const {s3} = services()
    env = {
      ...isolatedOclifEnv(),
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      DRC_S3_ENDPOINT: s3.endpoint,
      REGISTRY_URL: registry.url,
      REPOSITORY: 'acme',
      S3_BUCKET: s3.bucket,
      S3_REGION: s3.region,
    }
  })

  after(async () => registry.stop())

  it('backs up, verifies, and restores a deleted image to the same digest', async () => {
    const prefixEnv = {...env}
    const prefix = `cli-${randomUUID()}`
    const file = `${process.env.TMPDIR ?? '/tmp'}/drc-backup-${prefix}.yaml`
    const {writeFileSync} = await import('node:fs')
    writeFileSync(file, `s3:\n  prefix: ${prefix}\n`)
    prefixEnv.CONFIG_FILE = file

    const created = runCli(['backup', 'create', 'acme/environment:e1-1', 'acme/environment:e1-2', '--json'], {
      env: prefixEnv,
    })
    expect(created.code, created.stderr).to.equal(0)
    const out = (created.json() as {result: unknown}).result as {
      images: Array<{ok: boolean; result: {blobsSkipped: number; record: {digest: string}; verified: boolean}}>
    }
    expect(out.images.map((i) => i.ok)).to.deep.equal([true, true])
    // The shared base layer was stored by the first image and skipped by the second.
    expect(out.images[1].result.blobsSkipped).to.equal(1)
    const {digest} = out.images[0].result.record

    expect(runCli(['backup', 'verify', 'acme/environment:e1-1'], {env: prefixEnv}).code).to.equal(0)

    const client = testClient(registry.url)
    await client.deleteManifest('acme/environment', digest)
    const gone = await client.getManifest('acme/environment', 'e1-1').then(
      () => 'present',
      () => 'gone',
    )
    expect(gone).to.equal('gone')

    const restored = runCli(['backup', 'restore', 'acme/environment:e1-1', '--json'], {env: prefixEnv})
    expect(restored.code, restored.stderr).to.equal(0)
    const back = await client.getManifest('acme/environment', 'e1-1')
    expect(back.digest).to.equal(digest)
  })

  it('exits 4 when some images fail and names the one that failed', () => {
    const r = runCli(['backup', 'create', 'acme/environment:e1-1', 'acme/environment:nope'], {env})
    expect(r.code).to.equal(4)
    expect(r.stdout).to.contain('✓ acme/environment:e1-1')
    expect(r.stderr).to.contain('acme/environment:nope')
  })

  it('exits 1 when every image fails (the same per-item rule as the deletion lifecycle)', () => {
    const r = runCli(['backup', 'create', 'acme/environment:nope-1', 'acme/environment:nope-2'], {env})
    expect(r.code, r.stderr).to.equal(1)
    expect(r.stderr).to.contain('acme/environment:nope-1')
    expect(r.stderr).to.contain('acme/environment:nope-2')
  })

  it('refuses bad input before touching anything: a malformed reference, or no bucket (exit 2)', () => {
    const bad = runCli(['backup', 'create', 'acme/environment:e1-1', 'not-a-reference'], {env})
    expect(bad.code).to.equal(2)
    expect(bad.stderr).to.contain("'not-a-reference' is not an image reference")
    const noBucket = runCli(['backup', 'create', 'acme/environment:e1-1'], {env: {...env, S3_BUCKET: ''}})
    expect(noBucket.code).to.equal(2)
    expect(noBucket.stderr).to.contain('no S3 bucket is configured')
  })

  it('list shows the bucket; restore --tags (alias backup_restore) into another registry (--to) from --s3-bucket', async () => {
    const {s3} = services()
    const bucket = `drc-cli-${randomUUID().slice(0, 8)}`
    await createBucket(s3.endpoint, bucket)
    // No bucket configured: --s3-bucket alone says where.
    const noBucket = {...env, S3_BUCKET: ''}
    const created = runCli(
      ['backup', 'create', 'acme/environment:e1-1', 'acme/environment:e1-2', '--s3-bucket', bucket],
      {
        env: noBucket,
      },
    )
    expect(created.code, created.stderr).to.equal(0)

    const listed = runCli(['backup', 'list', '--s3-bucket', bucket, '--json'], {env: noBucket})
    expect(listed.code, listed.stderr).to.equal(0)
    type Row = {backedUpAt: string; bytes: number; digest: string; repository: string; tag: string}
    const rows = (listed.json() as {result: {backups: Row[]}}).result.backups.sort((a, b) => a.tag.localeCompare(b.tag))
    const source = testClient(registry.url)
    const digests = await Promise.all(
      ['e1-1', 'e1-2'].map(async (t) => (await source.headManifest('acme/environment', t)).digest),
    )
    expect(rows.map((r) => [r.repository, r.tag, r.digest])).to.deep.equal([
      ['acme/environment', 'e1-1', digests[0]],
      ['acme/environment', 'e1-2', digests[1]],
    ])
    expect(rows[0].bytes).to.be.above(4096)
    expect(Date.parse(rows[0].backedUpAt)).to.be.closeTo(Date.now(), 120_000)
    const filtered = runCli(['backup', 'list', '--s3-bucket', bucket, '--tag-prefix', 'e1-2', '--json'], {
      env: noBucket,
    })
    expect((filtered.json() as {result: {backups: Row[]}}).result.backups.map((r) => r.tag)).to.deep.equal(['e1-2'])
    const table = runCli(['backup', 'list', '--s3-bucket', bucket], {env: noBucket})
    expect(table.stdout)
      .to.match(/REPOSITORY\s+TAG\s+DIGEST\s+SIZE/)
      .and.contain('e1-1')

    const other = await startRegistry()
    const dest = testClient(other.url)
    try {
      const args = ['backup_restore', 'restore', '--tags', 'e1-1', 'e1-2', '--to', other.url, '--s3-bucket', bucket]
      const restored = runCli(args, {env: noBucket})
      expect(restored.code, restored.stderr).to.equal(0)
      for (const [i, t] of ['e1-1', 'e1-2'].entries())
        expect((await dest.headManifest('acme/environment', t)).digest).to.equal(digests[i]) // eslint-disable-line no-await-in-loop
      // The source registry was not written to: only the --to registry.
      expect(restored.stdout).to.contain(other.url)

      const missing = runCli(['backup', 'restore', '--tags', 'nope', '--to', other.url, '--s3-bucket', bucket], {
        env: noBucket,
      })
      expect(missing.code).to.equal(1)
      expect(missing.stderr).to.contain('no backup has tag nope')

      // A tag that now names another image is never moved by a restore.
      const e2 = await dest.getManifest('acme/environment', 'e1-2')
      await dest.putManifest('acme/environment', 'e1-1', e2.body, e2.mediaType)
      const moved = runCli(['backup', 'restore', '--tags', 'e1-1', '--to', other.url, '--s3-bucket', bucket], {
        env: noBucket,
      })
      expect(moved.code).to.equal(1)
      expect(moved.stderr).to.contain('not overwritten')
      expect((await dest.headManifest('acme/environment', 'e1-1')).digest).to.equal(digests[1])
    } finally {
      await source.close()
      await dest.close()
      await other.stop()
    }
  })

  it('verify names a backup that does not exist and exits 1', () => {
    const r = runCli(['backup', 'verify', 'acme/environment:never-backed-up'], {env})
    expect(r.code).to.equal(1)
    expect(r.stdout + r.stderr).to.contain('never-backed-up')
  })
})
