import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {setTimeout as sleep} from 'node:timers/promises'

import {gcSafety} from '../../packages/core/src/analysis/gc-safety.js'
import {scanRegistry} from '../../packages/core/src/analysis/scan.js'
import {READONLY_ENV} from '../../packages/core/src/kube/gc-job.js'
import {GC_LEASE_NAME, runRegistryGc} from '../../packages/core/src/kube/registry-gc.js'
import {withDeletionUnlocked} from '../../packages/core/src/kube/registry-lock.js'
import {DrcError} from '../../packages/core/src/lib/errors.js'
import {testClient} from '../registry/helpers.js'
import {BIN, REPO_ROOT} from '../support/cli.js'
import {type ClusterRegistry, resourcePath, startClusterRegistry} from '../support/kube-cluster.js'
import {kube} from '../support/kube-rest.js'
import {deleteManifest, pushImage} from '../support/registry-push.js'
import {fast, lockConfig, REPO} from './lock-helpers.js'

/**
 * `registry garbage-collect` as a Job on the registry's volume with the registry read-only meanwhile, against the
 * real API server and Job controller (the simulated node runs the real garbage-collect, see docs/testing.md).
 */
describe('kube: drc registry gc (Job on the registry storage, read-only meanwhile)', function () {
  this.timeout(120_000)
  let pair: ClusterRegistry

  beforeEach(async () => {
    pair = await startClusterRegistry()
  })

  afterEach(async () => pair?.stop())

  const config = () => ({
    kubernetes: {...lockConfig(pair).kubernetes, registry_config_path: '/etc/docker/registry/config.yml'},
  })
  const opts = {log() {}, pollIntervalMs: 50, rolloutTimeoutMs: 20_000}
  const readOnlyEnv = async () =>
    (await pair.get('statefulsets', pair.name)).spec.template.spec.containers[0].env?.find(
      (e: {name: string}) => e.name === READONLY_ENV,
    )
  const gcPods = async () =>
    (
      await kube(
        pair.cluster.endpoint,
        'GET',
        `${resourcePath('pods', pair.namespace)}?labelSelector=app.kubernetes.io%2Fmanaged-by%3Ddrc`,
      )
    ).body.items as Array<{metadata: {name: string}; status?: {phase?: string}}>

  async function expectWritableAndLocked(): Promise<void> {
    await pair.waitForRollouts()
    expect(await readOnlyEnv()).to.equal(undefined)
    expect((await pair.get('leases', GC_LEASE_NAME)).metadata.annotations ?? {}).to.deep.equal({})
    const pushed = await pushImage(pair.registry.url, REPO, `after-${randomBytes(3).toString('hex')}`, [
      randomBytes(256),
    ])
    expect((await deleteManifest(pair.registry.url, REPO, pushed.digest)).status).to.equal(405)
  }

  it('frees exactly the predicted bytes of a deleted image with unique layers; writable and locked afterwards', async () => {
    await pushImage(pair.registry.url, REPO, 'keep', [randomBytes(4096)])
    const gone = await pushImage(pair.registry.url, REPO, 'gone', [randomBytes(64 * 1024), randomBytes(32 * 1024)])
    const client = testClient(pair.registry.url)
    const {graph} = await scanRegistry(client, {concurrency: 4, repositories: [REPO]})
    await client.close()
    const predicted = graph.freedBytes([{repository: REPO, tag: 'gone'}]).bytes
    expect(predicted).to.be.above(96 * 1024)
    const safety = gcSafety(graph)
    expect(safety.deleteUntagged).to.equal(true)
    await withDeletionUnlocked(
      lockConfig(pair),
      async () => expect((await deleteManifest(pair.registry.url, REPO, gone.digest)).status).to.equal(202),
      fast,
    )

    // Read-only for the duration: a push during the (held) collection is refused.
    pair.sim.gcMode('hold')
    const running = runRegistryGc(config(), {...opts, deleteUntagged: safety.deleteUntagged})
    running.catch(() => {})
    while ((await gcPods()).length === 0) await sleep(50) // eslint-disable-line no-await-in-loop
    await pair.sim.settle()
    expect(await readOnlyEnv()).to.deep.equal({name: READONLY_ENV, value: '{"enabled": true}'})
    const refused = await pushImage(pair.registry.url, REPO, 'during-gc', [randomBytes(128)]).then(
      () => 'pushed',
      (error: Error) => error.message,
    )
    expect(refused).to.not.equal('pushed')
    pair.sim.gcMode('run')

    const result = await running
    expect(result.delete_untagged).to.equal(true)
    expect(result.measured_freed_bytes).to.equal(predicted)
    await expectWritableAndLocked()
  })

  it('a failed GC Job: the read-only setting is removed, the run fails (DrcError, exit 1)', async () => {
    pair.sim.gcMode('fail')
    const error = await runRegistryGc(config(), {...opts, deleteUntagged: false}).then(
      () => null,
      (error_: unknown) => error_,
    )
    expect(error).to.be.instanceOf(DrcError)
    expect((error as DrcError).message).to.match(/registry garbage collection failed: Job .*drc-registry-gc-/)
    expect((error as DrcError).exitCode).to.equal(1)
    await expectWritableAndLocked()
  })

  it('SIGINT while the Job runs (drc registry gc): Job stopped, read-only removed, exit 130', async () => {
    pair.sim.gcMode('hold')
    const child = spawn(process.execPath, [BIN, 'registry', 'gc', '--keep-untagged'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        DOMINO_PLATFORM_NAMESPACE: pair.namespace,
        DRC_REGISTRY_IN_CLUSTER: 'true',
        DRC_REGISTRY_STATEFULSET: pair.name,
        KUBECONFIG: pair.kubeconfigPath,
        NO_COLOR: '1',
        REGISTRY_URL: pair.registry.url,
      },
    })
    let stderr = ''
    child.stderr.on('data', (d) => {
      stderr += d
    })
    const exited = new Promise<null | number>((resolve) => {
      child.on('exit', (code) => resolve(code))
    })
    const deadline = Date.now() + 60_000
    // eslint-disable-next-line no-await-in-loop
    while (!(await gcPods()).some((p) => p.status?.phase === 'Running')) {
      if (Date.now() > deadline) throw new Error(`no GC pod running: ${stderr}`)
      await sleep(100) // eslint-disable-line no-await-in-loop
    }

    expect(await readOnlyEnv()).to.deep.include({name: READONLY_ENV})
    child.kill('SIGINT')
    expect(await exited, stderr).to.equal(130)
    expect(stderr).to.match(/SIGINT: stopping garbage collection/)
    expect(await gcPods()).to.deep.equal([])
    await expectWritableAndLocked()
  })
})
