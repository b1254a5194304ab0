/* eslint-disable n/no-unsupported-features/node-builtins -- global fetch is available (unflagged) on Node 20, our floor */
import {CreateBucketCommand, HeadBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client} from '@aws-sdk/client-s3'
import {expect} from 'chai'
import {MongoClient, ObjectId} from 'mongodb'
import {randomBytes} from 'node:crypto'

import {keycloakService, services} from './harness.js'
import {adminToken, seedKeycloak} from './keycloak.js'

describe('test support: shared real services (started by the mocha global setup)', () => {
  it('MongoDB (FerretDB unless DRC_TEST_MONGODB_URI): insert and find with a filter and a projection', async () => {
    const client = new MongoClient(services().mongo.uri)
    try {
      const db = client.db(`harness_${randomBytes(4).toString('hex')}`)
      const id = new ObjectId()
      await db.collection('environments').insertMany([
        {_id: id, archived: true, name: 'env-a'},
        {_id: new ObjectId(), archived: false, name: 'env-b'},
      ])
      const found = await db
        .collection('environments')
        .find({archived: true}, {projection: {name: 1}})
        .toArray()
      expect(found).to.deep.equal([{_id: id, name: 'env-a'}])
      expect(await db.collection('environments').countDocuments({_id: {$in: [id]}})).to.equal(1)
      await db.dropDatabase()
    } finally {
      await client.close()
    }
  })

  it('S3 (moto): the harness bucket exists; put and head an object', async () => {
    const {s3} = services()
    const client = new S3Client({
      credentials: {accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey},
      endpoint: s3.endpoint,
      forcePathStyle: true,
      region: s3.region,
    })
    try {
      await client.send(new HeadBucketCommand({Bucket: s3.bucket}))
      const body = randomBytes(1000)
      await client.send(new PutObjectCommand({Body: body, Bucket: s3.bucket, Key: 'harness/probe'}))
      expect(
        (await client.send(new HeadObjectCommand({Bucket: s3.bucket, Key: 'harness/probe'}))).ContentLength,
      ).to.equal(1000)
      const missing = await client.send(new HeadBucketCommand({Bucket: 'drc-no-such-bucket'})).catch((error) => error)
      expect(missing.$metadata?.httpStatusCode).to.equal(404)
      await client.send(new CreateBucketCommand({Bucket: 'drc-harness-extra'}))
      await client.send(new HeadBucketCommand({Bucket: 'drc-harness-extra'}))
    } finally {
      client.destroy()
    }
  })

  it('Keycloak: admin token, DominoRealm users listed with enabled and attributes', async function () {
    if (!services().keycloak) this.skip() // only when the run was started with DRC_TEST_KEYCLOAK=0
    this.timeout(300_000) // under the global setup Keycloak may still be starting in the background
    const keycloak = await keycloakService()
    const disabledId = new ObjectId().toHexString()
    const enabledId = new ObjectId().toHexString()
    const suffix = randomBytes(3).toString('hex')
    await seedKeycloak(keycloak, [
      {dominoUserId: enabledId, enabled: true, username: `alice-${suffix}`},
      {dominoUserId: disabledId, enabled: false, username: `bob-${suffix}`},
      {enabled: false, username: `carol-${suffix}`},
    ])
    const token = await adminToken(keycloak.url, keycloak.adminUser, keycloak.adminPassword)
    const response = await fetch(
      `${keycloak.url}/admin/realms/${keycloak.realm}/users?search=*${suffix}&first=0&max=10`,
      {
        headers: {authorization: `Bearer ${token}`},
      },
    )
    expect(response.status).to.equal(200)
    const users = (await response.json()) as Array<{
      attributes?: Record<string, string[]>
      enabled: boolean
      username: string
    }>
    const byName = Object.fromEntries(users.map((u) => [u.username, u]))
    expect(byName[`alice-${suffix}`]).to.include({enabled: true})
    expect(byName[`alice-${suffix}`].attributes?.['domino-user-id']).to.deep.equal([enabledId])
    expect(byName[`bob-${suffix}`]).to.include({enabled: false})
    expect(byName[`bob-${suffix}`].attributes?.['domino-user-id']).to.deep.equal([disabledId])
    expect(byName[`carol-${suffix}`].attributes?.['domino-user-id']).to.be.undefined
    const wrong = await fetch(`${keycloak.url}/realms/master/protocol/openid-connect/token`, {
      body: new URLSearchParams({
        client_id: 'admin-cli',
        grant_type: 'password',
        password: 'wrong',
        username: keycloak.adminUser,
      }),
      method: 'POST',
    })
    // Keycloak 26 answers a wrong password with 400 invalid_grant (measured), not 401.
    expect(wrong.status).to.equal(400)
    expect(await wrong.json()).to.include({error: 'invalid_grant'})
  })

  it('the shared registry is locked and its Kubernetes API server answers with the written kubeconfig', async () => {
    const {kube, registry} = services()
    const k8s = await import('@kubernetes/client-node')
    const kc = new k8s.KubeConfig()
    kc.loadFromFile(kube.kubeconfig)
    const sts = await kc
      .makeApiClient(k8s.AppsV1Api)
      .readNamespacedStatefulSet({name: kube.statefulset, namespace: kube.namespace})
    expect(
      sts.spec?.template.spec?.containers[0].env?.find((e) => e.name === 'REGISTRY_STORAGE_DELETE_ENABLED')?.value,
    ).to.equal('false')
    expect((await fetch(`${registry.url}/v2/`)).status).to.equal(200)
  })
})
