/* eslint-disable n/no-unsupported-features/node-builtins -- global fetch is available (unflagged) on Node 20, our floor */
import {GetObjectCommand, PutObjectCommand, S3Client} from '@aws-sdk/client-s3'
import {expect} from 'chai'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {parse} from 'yaml'

import {writeSandboxConfig} from '../../scripts/sandbox-config.js'
import {type Harness, type ServiceSettings, startAll} from './harness.js'
import {pushImage} from './registry-push.js'

function s3Client(s3: ServiceSettings['s3']): S3Client {
  return new S3Client({
    credentials: {accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey},
    endpoint: s3.endpoint,
    forcePathStyle: true,
    region: s3.region,
  })
}

async function mongoCount(uri: string): Promise<number> {
  const {MongoClient} = await import('mongodb')
  const client = new MongoClient(uri)
  try {
    return await client.db('sandbox').collection('environments').countDocuments()
  } finally {
    await client.close()
  }
}

/** Holds a port so the next start must take another one. */
async function occupy(port: number): Promise<net.Server> {
  const server = net.createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', resolve)
  })
  return server
}

describe('test support: a persistent service set (the resumable sandbox)', function () {
  this.timeout(180_000)
  let harness: Harness | undefined
  let dir: string

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'drc-sandbox-test-'))
  })

  after(async () => {
    await harness?.stopAll()
    rmSync(dir, {force: true, recursive: true})
  })

  it('keeps registry, MongoDB and S3 data across a stop and start, and the configuration follows a moved port', async () => {
    const stateDir = path.join(dir, 'state')
    harness = await startAll({s3Bucket: 'sandbox-backups', servicesFile: path.join(dir, 'a.json'), stateDir})
    const first = harness.settings
    const image = await pushImage(first.registry.url, 'dominodatalab/environment', 'kept-1', [Buffer.from('layer')])
    const {MongoClient} = await import('mongodb')
    const mongo = new MongoClient(first.mongo.uri)
    await mongo
      .db('sandbox')
      .collection('environments')
      .insertMany([{name: 'a'}, {name: 'b'}, {name: 'c'}])
    await mongo.close()
    const s3 = s3Client(first.s3)
    await s3.send(new PutObjectCommand({Body: 'backup bytes', Bucket: 'sandbox-backups', Key: 'blobs/one'}))
    s3.destroy()
    const configFile = writeSandboxConfig(first, dir)
    // An operator's edit of the generated file must survive the rewrite.
    writeFileSync(
      configFile,
      readFileSync(configFile, 'utf8').replace('requests_per_second: 500', 'requests_per_second: 42 # mine'),
    )
    await harness.stopAll()
    harness = undefined

    // The old MongoDB port is taken now: the resumed set moves MongoDB and keeps every other port.
    const blocker = await occupy(first.ports!.mongo!)
    try {
      harness = await startAll({
        ports: first.ports,
        s3Bucket: 'sandbox-backups',
        servicesFile: path.join(dir, 'b.json'),
        stateDir,
      })
    } finally {
      blocker.close()
    }

    const second = harness.settings
    expect(second.registry.url).to.equal(first.registry.url)
    expect(second.s3.endpoint).to.equal(first.s3.endpoint)
    expect(second.mongo.uri).to.not.equal(first.mongo.uri)
    const catalog = (await (await fetch(`${second.registry.url}/v2/_catalog`)).json()) as {repositories: string[]}
    expect(catalog.repositories).to.deep.equal(['dominodatalab/environment'])
    const manifest = await fetch(`${second.registry.url}/v2/dominodatalab/environment/manifests/kept-1`, {
      headers: {accept: 'application/vnd.docker.distribution.manifest.v2+json'},
    })
    expect(manifest.headers.get('docker-content-digest')).to.equal(image.digest)
    expect(await mongoCount(second.mongo.uri)).to.equal(3)
    const s3Again = s3Client(second.s3)
    const object = await s3Again.send(new GetObjectCommand({Bucket: 'sandbox-backups', Key: 'blobs/one'}))
    expect(await object.Body!.transformToString()).to.equal('backup bytes')
    s3Again.destroy()

    writeSandboxConfig(second, dir)
    const text = readFileSync(configFile, 'utf8')
    const config = parse(text) as {mongo: {uri: string}; registry: {url: string}}
    expect(config.mongo.uri).to.equal(second.mongo.uri)
    expect(config.registry.url).to.equal(second.registry.url)
    expect(text).to.include('requests_per_second: 42 # mine')
  })
})
