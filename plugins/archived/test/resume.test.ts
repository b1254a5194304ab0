import type {ChildProcess} from 'node:child_process'

import {expect} from 'chai'
import {randomUUID} from 'node:crypto'
import {existsSync, mkdtempSync, readdirSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {DeletionResult} from '../../../packages/core/src/lifecycle/index.js'

import {DeletionDisabledError} from '../../../packages/core/src/registry/errors.js'
import {pushImages} from '../../../test/fixtures/push-images.js'
import {countingProxy, type CountingProxy, ENV_REPO, oldId, resultOf, seedDocs} from '../../../test/lifecycle/world.js'
import {testClient} from '../../../test/registry/helpers.js'
import {services} from '../../../test/support/harness.js'
import {type ClusterRegistry, startClusterRegistry} from '../../../test/support/kube-cluster.js'
import {linkedPluginsEnv} from '../../../test/support/plugin-cli.js'
import {runCli} from './helpers.js'

/**
 * Images in the interrupted plan. The issue asks for 200: DRC_TEST_RESUME_IMAGES=200 runs that (about 3 minutes on
 * a loaded 2-core machine); the default of 60 keeps the suite under a minute for this test.
 */
const IMAGES = Number(process.env.DRC_TEST_RESUME_IMAGES ?? 60)

/**
 * Invariant 9 end to end: `drc archived delete --apply` interrupted by SIGINT half-way through a large deletion
 * (registry under the real Kubernetes API, locked; DELETEs counted by a proxy), then `--resume`.
 */
describe('@drc/plugin-archived: --resume after SIGINT deletes every planned image exactly once', function () {
  this.timeout(300_000)
  let pluginEnv: Record<string, string>
  let pair: ClusterRegistry | undefined
  let proxy: CountingProxy | undefined

  before(() => {
    pluginEnv = linkedPluginsEnv('archived')
  })

  afterEach(async () => {
    await proxy?.stop()
    await pair?.stop()
    proxy = undefined
    pair = undefined
  })

  it(`SIGINT during a ${IMAGES}-image deletion, then --resume: each image deleted once, registry locked, journal gone`, async () => {
    const {ObjectId} = await import('mongodb')
    const o = (h: string) => ObjectId.createFromHexString(h)
    const [env, live] = [oldId(), oldId()]
    const db = `archived_resume_${randomUUID().slice(0, 8)}`
    const revision = (e: string, n: number) => ({
      _id: o(oldId()),
      environmentId: o(e),
      metadata: {dockerImageName: {repository: ENV_REPO, tag: `${e}-${n}`}, isBuilt: true},
    })
    await seedDocs(db, {
      environment_revisions: [...Array.from({length: IMAGES}, (_, i) => revision(env, i + 1)), revision(live, 1)],
      environments_v2: [
        {_id: o(env), isArchived: true, name: 'old'},
        {_id: o(live), isArchived: false, name: 'live'},
      ],
    })
    pair = await startClusterRegistry()
    const client = testClient(pair.registry.url, {maxConcurrency: 8})
    const tags = [...Array.from({length: IMAGES}, (_, i) => `${env}-${i + 1}`), `${live}-1`]
    await pushImages(
      client,
      tags.map((tag) => ({layers: [{seed: `r-${tag}`, size: 128}], repository: ENV_REPO, tags: [tag]})),
    )
    proxy = await countingProxy(pair.registry.url)
    proxy.slowDeleteMs = 20
    const outputDir = mkdtempSync(path.join(tmpdir(), 'drc-resume-'))
    const env_ = {
      ...pluginEnv,
      DOMINO_PLATFORM_NAMESPACE: pair.namespace,
      DRC_MONGO_URI: services().mongo.uri,
      DRC_REGISTRY_IN_CLUSTER: 'true',
      DRC_REGISTRY_STATEFULSET: pair.name,
      KUBECONFIG: pair.kubeconfigPath,
      MONGODB_DB: db,
      OUTPUT_DIR: outputDir,
      REGISTRY_URL: proxy.url,
      REPOSITORY: 'dominodatalab',
    }
    const sts = async () =>
      (
        (await pair!.get('statefulsets', pair!.name)) as {
          spec: {template: {spec: {containers: Array<{env?: unknown}>}}}
        }
      ).spec.template.spec.containers[0].env
    const priorEnv = await sts()
    const checkpoints = path.join(outputDir, 'checkpoints')
    const journals = () => (existsSync(checkpoints) ? readdirSync(checkpoints) : [])

    // 1. Interrupted a third of the way through the deletes.
    let child: ChildProcess | undefined
    proxy.onDelete = (n) => {
      if (n === Math.floor(IMAGES / 3)) child?.kill('SIGINT')
    }

    // Without --json: the progress on stderr hands over the child process early.
    const first = await runCli(['archived', 'delete', '--apply', '--force'], {
      env: env_,
      onStderr(_soFar, c) {
        child = c
      },
    })
    expect(first.code, first.stderr).to.equal(130)
    // Accepted DELETEs (202): one in flight when the registry is re-locked first is refused (405), deleting nothing.
    const deletedFirst = [...proxy.accepted.values()].reduce((a, b) => a + b, 0)
    expect(deletedFirst).to.be.within(1, IMAGES - 1)
    expect(journals()).to.have.length(1)
    const journalFile = path.join(checkpoints, journals()[0])
    expect((statSync(journalFile).mode % 0o1000).toString(8)).to.equal('600')
    await pair.waitForRollouts()
    expect(await sts()).to.deep.equal(priorEnv)

    // 2. A journal of another plan is refused, saying what differs (one archived revision added since).
    const extra = revision(env, IMAGES + 1)
    await pushImages(client, [
      {layers: [{seed: 'r-extra', size: 128}], repository: ENV_REPO, tags: [`${env}-${IMAGES + 1}`]},
    ])
    await seedDocs(db, {environment_revisions: [extra]})
    const other = await runCli(['archived', 'delete', '--apply', '--force', '--resume'], {env: env_})
    expect(other.code, other.stderr).to.equal(2)
    expect(other.stderr).to.match(
      /--resume refused: journal \w+ is of another plan: 1 items added \(dominodatalab\/environment@sha256:[\da-f]+\), 0 removed/,
    )
    const {MongoClient} = await import('mongodb')
    const mongo = await MongoClient.connect(services().mongo.uri)
    await mongo.db(db).collection('environment_revisions').deleteOne({_id: extra._id})
    await mongo.close()

    // 3. --resume finishes the same plan: nothing deleted twice, journal gone, registry locked again.
    const resumed = await runCli(['archived', 'delete', '--apply', '--force', '--resume', '--json'], {env: env_})
    expect(resumed.code, resumed.stderr).to.equal(0)
    const out = resultOf<DeletionResult>(resumed.stdout)
    expect(out.resume?.journal).to.equal(journalFile)
    expect(out.counts.already_deleted + out.counts.deleted).to.equal(IMAGES)
    expect(out.counts.already_deleted).to.equal(deletedFirst)
    expect(proxy.accepted.size).to.equal(IMAGES)
    for (const [url, n] of proxy.accepted) expect(n, url).to.equal(1)
    expect(journals()).to.deep.equal([])
    expect((await client.listTags(ENV_REPO)).sort()).to.deep.equal([`${env}-${IMAGES + 1}`, `${live}-1`].sort())
    expect(out.lock).to.equal('relocked')
    await pair.waitForRollouts()
    expect(await sts()).to.deep.equal(priorEnv)
    const {digest} = await client.headManifest(ENV_REPO, `${live}-1`)
    const refused = await client.deleteManifest(ENV_REPO, digest).then(
      () => null,
      (error: unknown) => error,
    )
    expect(refused).to.be.instanceOf(DeletionDisabledError)
  })
})
