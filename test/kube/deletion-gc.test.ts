import {expect} from 'chai'
import {randomBytes, randomUUID} from 'node:crypto'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {DeletionResult} from '../../packages/core/src/lifecycle/index.js'

import {READONLY_ENV} from '../../packages/core/src/kube/gc-job.js'
import {GC_LEASE_NAME} from '../../packages/core/src/kube/registry-gc.js'
import {runCli} from '../../plugins/archived/test/helpers.js'
import {type Dataset, generateDataset, seedMongo} from '../fixtures/index.js'
import {services} from '../support/harness.js'
import {type ClusterRegistry, startClusterRegistry} from '../support/kube-cluster.js'
import {linkedPluginsEnv} from '../support/plugin-cli.js'
import {deleteManifest, pushImage} from '../support/registry-push.js'

const REPO = 'dominodatalab/environment'
const DELETE_ENV = 'REGISTRY_STORAGE_DELETE_ENABLED'
const SINCE_DAYS = 30

function expectGcFreedThePrediction(r: {code: null | number; json: () => unknown; stderr: string}): DeletionResult {
  expect(r.code, r.stderr).to.equal(0)
  const audit = r.json() as DeletionResult
  expect(audit.deleted.length).to.be.greaterThan(0)
  expect(audit.lock).to.equal('relocked')
  expect(audit.predicted_freed_bytes_deleted).to.be.greaterThan(12 * 1024)
  expect(audit.gc).to.deep.include({
    delete_untagged: true,
    measured_freed_bytes: audit.predicted_freed_bytes_deleted,
    predicted_freed_bytes: audit.predicted_freed_bytes_deleted,
    ran: true,
  })
  expect(audit.warnings.join('\n')).to.not.match(/nothing is freed yet/)
  return audit
}

/**
 * --run-registry-gc on a deletion run, through bin/run.js against the real API server (simulated node running the
 * real garbage-collect) and FerretDB: every environment revision's image gets its own random layers, so what GC
 * frees must equal what the plan's blob graph predicted for the deletes done.
 */
describe('kube: deletion run with --run-registry-gc (registry read-only GC after the re-lock)', function () {
  this.timeout(240_000)
  const dataset: Dataset = generateDataset({
    environments: 14,
    layerScale: 0.1,
    models: 2,
    now: new Date(),
    revisionsPerEnvironment: 3,
    runs: 30,
    seed: 23,
    users: 3,
    versionsPerModel: 1,
  })
  let pair: ClusterRegistry | undefined

  afterEach(async () => {
    await pair?.stop()
    pair = undefined
  })

  async function world(): Promise<Record<string, string>> {
    pair = await startClusterRegistry()
    // Unique layers per image: GC then frees exactly the predicted bytes.
    for (const r of dataset.collections.environment_revisions)
      // eslint-disable-next-line no-await-in-loop
      await pushImage(pair.registry.url, REPO, r.metadata.dockerImageName.tag as string, [
        randomBytes(8 * 1024),
        randomBytes(4 * 1024),
      ])
    const db = `kube_deletion_gc_${randomUUID().slice(0, 8)}`
    await seedMongo(services().mongo.uri, db, dataset)
    return {
      ...linkedPluginsEnv('archived'),
      DOMINO_PLATFORM_NAMESPACE: pair.namespace,
      DRC_MONGO_URI: services().mongo.uri,
      DRC_REGISTRY_IN_CLUSTER: 'true',
      DRC_REGISTRY_STATEFULSET: pair.name,
      KUBECONFIG: pair.kubeconfigPath,
      MONGODB_DB: db,
      OUTPUT_DIR: mkdtempSync(path.join(tmpdir(), 'drc-deletion-gc-')),
      REGISTRY_URL: pair.registry.url,
      REPOSITORY: 'dominodatalab',
    }
  }

  async function expectWritableAndLocked(): Promise<void> {
    await pair!.waitForRollouts()
    const sts = await pair!.get('statefulsets', pair!.name)
    const env = (sts.spec.template.spec.containers[0].env ?? []) as Array<{name: string; value?: string}>
    expect(env.find((e) => e.name === READONLY_ENV)).to.equal(undefined)
    expect(env.find((e) => e.name === DELETE_ENV)?.value).to.not.equal('true')
    expect((await pair!.get('leases', GC_LEASE_NAME)).metadata.annotations ?? {}).to.deep.equal({})
    const pushed = await pushImage(pair!.registry.url, REPO, `after-${randomBytes(3).toString('hex')}`, [
      randomBytes(256),
    ])
    expect((await deleteManifest(pair!.registry.url, REPO, pushed.digest)).status).to.equal(405)
  }

  // Needs the archived plugin's predecessor refusal of --run-registry-gc removed (plugins/archived/src/predecessor-flags.ts).
  it('archived delete --apply --force --run-registry-gc frees the predicted bytes; writable and delete-locked after', async () => {
    const env = await world()
    const since = ['--unused-since-days', String(SINCE_DAYS)]
    const r = await runCli(['archived', 'delete', '--apply', '--force', '--run-registry-gc', '--json', ...since], {env})
    expectGcFreedThePrediction(r)
    await expectWritableAndLocked()
  })

  it('image delete --run-registry-gc (core command): the same; without it the audit says nothing is freed yet', async () => {
    const env = await world()
    const since = ['--unused-since-days', String(SINCE_DAYS)]
    const dry = await runCli(['archived', 'delete', '--json', ...since], {env})
    expect(dry.code, dry.stderr).to.equal(0)
    const plan = dry.json() as DeletionResult
    const tags = plan.planned.flatMap((i) => i.tags)
    expect(tags.length).to.be.greaterThan(1)
    const [first, ...rest] = tags.map((t) => `environment:${t}`)

    const r = await runCli(
      ['image', 'delete', ...rest, '--apply', '--force', '--run-registry-gc', '--json', ...since],
      {
        env,
      },
    )
    expectGcFreedThePrediction(r)
    await expectWritableAndLocked()

    const noGc = await runCli(['image', 'delete', first, '--apply', '--force', '--json', ...since], {env})
    expect(noGc.code, noGc.stderr).to.equal(0)
    const plain = noGc.json() as DeletionResult
    expect(plain.gc).to.deep.include({measured_freed_bytes: null, ran: false})
    expect(plain.warnings.join('\n')).to.match(/nothing is freed yet: .*drc registry gc/)
    await expectWritableAndLocked()
  })
})
