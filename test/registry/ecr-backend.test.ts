import {CreateRepositoryCommand, ECRClient, PutImageCommand} from '@aws-sdk/client-ecr'
import {expect} from 'chai'

import {sha256Digest} from '../../packages/core/src/registry/client.js'
import {EcrBackend} from '../../packages/core/src/registry/ecr-backend.js'
import {type MotoHandle, startMoto} from '../support/moto.js'

const manifest = (n: number): string =>
  JSON.stringify({
    config: {
      digest: sha256Digest(`config-${n}`),
      mediaType: 'application/vnd.docker.container.image.v1+json',
      size: 100,
    },
    layers: [
      {
        digest: sha256Digest(`layer-${n}`),
        mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
        size: 1000 * n,
      },
    ],
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    schemaVersion: 2,
  })

describe('ECR backend (moto)', () => {
  let moto: MotoHandle
  const saved = {id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY}

  before(async function () {
    this.timeout(60_000)
    moto = await startMoto()
    process.env.AWS_ACCESS_KEY_ID = moto.accessKeyId
    process.env.AWS_SECRET_ACCESS_KEY = moto.secretAccessKey
    const ecr = new ECRClient({endpoint: moto.endpoint, region: 'us-east-1'})
    await ecr.send(new CreateRepositoryCommand({repositoryName: 'acme/environment'}))
    for (const [n, tag] of [
      [1, 'e1'],
      [2, 'e2'],
      [2, 'e2-alias'],
    ] as const) {
      // eslint-disable-next-line no-await-in-loop
      await ecr.send(
        new PutImageCommand({imageManifest: manifest(n), imageTag: tag, repositoryName: 'acme/environment'}),
      )
    }

    ecr.destroy()
  })

  after(async () => {
    await moto?.stop()
    if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID
    else process.env.AWS_ACCESS_KEY_ID = saved.id
    if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY
    else process.env.AWS_SECRET_ACCESS_KEY = saved.secret
  })

  it('lists digests with all their tags in bulk, and deleting one tag keeps its sibling', async () => {
    const backend = EcrBackend.forRegistryUrl('123456789012.dkr.ecr.us-east-1.amazonaws.com', {
      AWS_ENDPOINT_URL_ECR: moto.endpoint,
    })
    const images = await backend.listImages('acme/environment')
    expect(images.map((i) => i.tags.join(',')).sort()).to.deep.equal(['e1', 'e2,e2-alias'])
    const shared = images.find((i) => i.tags.length === 2)!
    expect(shared.digest).to.match(/^sha256:[a-f0-9]{64}$/) // moto hashes its own serialisation, not our bytes
    const del = await backend.deleteTags('acme/environment', ['e2'])
    expect(del.failures).to.deep.equal([])
    const after = await backend.listImages('acme/environment')
    expect(after.find((i) => i.digest === shared.digest)?.tags).to.deep.equal(['e2-alias'])
    const missing = await backend.deleteTags('acme/environment', ['nope'])
    expect(missing.failures.map((f) => f.code)).to.deep.equal(['ImageNotFound'])
    backend.close()
  })
})
