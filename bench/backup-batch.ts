/**
 * The lifecycle's backup phase cost (issue 11): N images backed up and verified into a fresh OCI layout on moto S3,
 * index.json written once per image (batch size 1, as before) against once per batch of 25 (the default). Reports
 * the time and the index.json bytes written and read, which grow as n² with one write per image.
 *   BENCH_BACKUP_IMAGES=200 (0 skips it)
 */
import type {BenchRow} from './registry-scan.js'

import {backupItems} from '../packages/core/src/backup/batch.js'
import {indexKey} from '../packages/core/src/backup/layout.js'
import {createS3Client} from '../packages/core/src/services/s3.js'
import {pushImages} from '../test/fixtures/push-images.js'
import {testClient} from '../test/registry/helpers.js'
import {startMoto} from '../test/support/moto.js'
import {startRegistry} from '../test/support/registry.js'

const REPO = 'dominodatalab/environment'
const mib = (n: number) => (n / 1024 / 1024).toFixed(1)

export async function benchBackupBatch(images: number): Promise<BenchRow[]> {
  const [moto, registry] = await Promise.all([startMoto(), startRegistry()])
  const s3 = await createS3Client(
    {s3: {bucket: 'bench', endpoint: moto.endpoint, prefix: 'unused', region: moto.region}},
    {env: {AWS_ACCESS_KEY_ID: moto.accessKeyId, AWS_SECRET_ACCESS_KEY: moto.secretAccessKey}},
  )
  const client = testClient(registry.url)
  try {
    const {CreateBucketCommand} = await import('@aws-sdk/client-s3')
    await s3.send(new CreateBucketCommand({Bucket: 'bench'}))
    const tags = Array.from({length: images}, (_, i) => `bench-${i}`)
    const pushed = await pushImages(
      client,
      tags.map((t) => ({layers: [{seed: `bb-${t}`, size: 64}], repository: REPO, tags: [t]})),
      8,
    )
    const items = pushed.map((p) => ({digest: p.digest, repository: REPO, tags: p.tags}))
    // Bytes of index.json moved, counted on drc's own S3 client (PutObject bodies, GetObject answers).
    const traffic = {get: 0, put: 0}
    let indexName = ''
    const send = s3.send.bind(s3) as (c: unknown) => Promise<unknown>
    s3.send = (async (command: {constructor: {name: string}; input: {Body?: Buffer; Key?: string}}) => {
      const answer = (await send(command)) as {ContentLength?: number}
      if (command.input.Key === indexName) {
        if (command.constructor.name === 'PutObjectCommand') traffic.put += command.input.Body?.length ?? 0
        if (command.constructor.name === 'GetObjectCommand') traffic.get += answer.ContentLength ?? 0
      }

      return answer
    }) as typeof s3.send
    const rows: BenchRow[] = []
    for (const batchSize of [1, 25]) {
      const prefix = `bench-${batchSize}`
      indexName = indexKey(prefix)
      traffic.get = 0
      traffic.put = 0
      const started = performance.now()
      // eslint-disable-next-line no-await-in-loop -- one layout after the other, so their timings do not mix
      const done = await backupItems(items, client, {bucket: 'bench', client: s3, prefix}, {batchSize})
      const seconds = (performance.now() - started) / 1000
      if (done.verified.size !== images) throw new Error(`backup bench: ${done.failed.size} failed`)
      rows.push({
        name: `backup ${images} images, index.json per ${batchSize === 1 ? 'image (before)' : `batch of ${batchSize}`}`,
        notes: `s; ${(images / seconds).toFixed(1)} images/s; index.json ${mib(traffic.put)} MiB written, ${mib(traffic.get)} MiB read`,
        value: seconds.toFixed(1),
      })
    }

    return rows
  } finally {
    await client.close()
    s3.destroy()
    await Promise.all([registry.stop(), moto.stop()])
  }
}
