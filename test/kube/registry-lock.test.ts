import * as k8s from '@kubernetes/client-node'
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {fileURLToPath} from 'node:url'

import {LEASE_NOTE} from '../../src/kube/lease.js'
import {
  acquireDeletionUnlock,
  DEFAULT_LEASE_NAME,
  DELETE_ENV,
  type DeletionUnlockOptions,
  RelockError,
  withDeletionUnlocked,
} from '../../src/kube/registry-lock.js'
import {DrcError} from '../../src/lib/errors.js'
import {ExitCode} from '../../src/lib/exit-codes.js'
import {type RegistryWithKube, startRegistryWithKube} from '../support/harness.js'
import {deleteManifest, pushImage} from '../support/registry-push.js'

const {PatchStrategy, setHeaderOptions} = k8s
const REPO = 'dominodatalab/environment'

async function expectRefusal(promise: Promise<unknown>): Promise<DrcError> {
  try {
    await promise
  } catch (error) {
    expect(error).to.be.instanceOf(DrcError)
    return error as DrcError
  }

  throw new Error('expected an error, the call succeeded')
}

describe('kube/registry-lock: deletion unlock/relock against the fake Kubernetes API and a real registry', () => {
  let pair: RegistryWithKube
  let config: {
    kubernetes: {
      domino_platform_namespace: string
      kubeconfig: string
      registry_in_cluster: string
      registry_statefulset: string
    }
  }
  let apps: k8s.AppsV1Api
  let tagCounter = 0
  const fast: DeletionUnlockOptions = {pollIntervalMs: 50, rolloutTimeoutMs: 20_000}

  const ns = () => pair.kube.namespace
  const deleteEnv = () =>
    pair.kube
      .object('statefulsets', pair.kube.statefulset)
      ?.spec.template.spec.containers[0].env?.find((e: k8s.V1EnvVar) => e.name === DELETE_ENV)
  const push = async () => pushImage(pair.registry.url, REPO, `t${++tagCounter}`, [randomBytes(512)])
  const del = async (digest: string) => (await deleteManifest(pair.registry.url, REPO, digest)).status
  const leaseHolder = () => pair.kube.object('leases', DEFAULT_LEASE_NAME)?.spec?.holderIdentity

  /** Sets the env entry directly (like an operator would) and waits until the registry runs with it. */
  async function setEnvDirectly(value: string | undefined): Promise<void> {
    const sts = await apps.readNamespacedStatefulSet({name: pair.kube.statefulset, namespace: ns()})
    const env = sts.spec!.template.spec!.containers[0].env ?? []
    const index = env.findIndex((e) => e.name === DELETE_ENV)
    const path = `/spec/template/spec/containers/0/env`
    const op =
      value === undefined
        ? {op: 'remove', path: `${path}/${index}`}
        : index === -1
          ? {op: 'add', path: `${path}/-`, value: {name: DELETE_ENV, value}}
          : {op: 'replace', path: `${path}/${index}`, value: {name: DELETE_ENV, value}}
    if (value === undefined && index === -1) return
    await apps.patchNamespacedStatefulSet(
      {body: [op], name: pair.kube.statefulset, namespace: ns()},
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    )
    await pair.kube.waitForRollouts()
  }

  before(async () => {
    pair = await startRegistryWithKube()
    config = {
      kubernetes: {
        domino_platform_namespace: pair.kube.namespace,
        kubeconfig: pair.kube.kubeconfigPath,

        registry_in_cluster: 'true',

        registry_statefulset: pair.kube.statefulset,
      },
    }
    const kc = new k8s.KubeConfig()
    kc.loadFromFile(pair.kube.kubeconfigPath)
    apps = kc.makeApiClient(k8s.AppsV1Api)
  })

  after(async () => pair?.stop())

  afterEach(async () => {
    pair.kube.clearFaults()
    await pair.kube.waitForRollouts()
  })

  it('prior "false": DELETE is 405 while locked, 202 inside withDeletionUnlocked, 405 after; env and lease restored', async () => {
    const [a, b] = [await push(), await push()]
    expect(deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
    expect(await del(a.digest)).to.equal(405)
    const {rollouts} = pair.kube
    const inside = await withDeletionUnlocked(
      config,
      async ({handle}) => {
        expect(handle.prior).to.deep.equal({name: DELETE_ENV, value: 'false'})
        expect(handle.changed).to.equal(true)
        expect(leaseHolder()).to.equal(handle.lease.holder)
        expect(deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'true'})
        return del(a.digest)
      },
      fast,
    )
    expect(inside).to.equal(202)
    expect(pair.kube.rollouts - rollouts).to.equal(2)
    expect(deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
    expect(pair.registry.env[DELETE_ENV]).to.equal('false')
    expect(await del(b.digest)).to.equal(405)
    expect(leaseHolder()).to.equal(undefined)
  })

  it('prior absent: unlocks with "true", relock removes the variable again; relock twice is harmless', async () => {
    await setEnvDirectly(undefined)
    expect(deleteEnv()).to.equal(undefined)
    const [a, b] = [await push(), await push()]
    expect(await del(a.digest)).to.equal(405)
    const handle = await acquireDeletionUnlock(config, fast)
    expect(handle.prior).to.equal(undefined)
    expect(deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'true'})
    expect(await del(a.digest)).to.equal(202)
    await Promise.all([handle.relock(), handle.relock()])
    await handle.relock()
    expect(deleteEnv()).to.equal(undefined)
    expect(pair.registry.env).to.not.have.property(DELETE_ENV)
    expect(await del(b.digest)).to.equal(405)
    expect(leaseHolder()).to.equal(undefined)
    await setEnvDirectly('false')
  })

  it('prior "true": nothing is patched or rolled out, relock leaves "true" and still releases the lease', async () => {
    await setEnvDirectly('true')
    const patches = pair.kube.requests.filter((r) => r.method === 'PATCH').length
    const {rollouts} = pair.kube
    const handle = await acquireDeletionUnlock(config, fast)
    expect(handle.changed).to.equal(false)
    expect(leaseHolder()).to.equal(handle.lease.holder)
    await handle.relock()
    expect(pair.kube.requests.filter((r) => r.method === 'PATCH').length).to.equal(patches)
    expect(pair.kube.rollouts).to.equal(rollouts)
    expect(deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'true'})
    expect(leaseHolder()).to.equal(undefined)
    await setEnvDirectly('false')
  })

  it('fn throwing: its error propagates and the registry is re-locked anyway', async () => {
    const image = await push()
    const boom = new Error('deletion batch failed')
    let error: unknown
    try {
      await withDeletionUnlocked(
        config,
        async () => {
          expect(await del(image.digest)).to.equal(202)
          throw boom
        },
        fast,
      )
    } catch (error_) {
      error = error_
    }

    expect(error).to.equal(boom)
    expect(deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
    expect(await del((await push()).digest)).to.equal(405)
    expect(leaseHolder()).to.equal(undefined)
  })

  it('a second concurrent acquire is refused with exit code 3 naming the holder; nothing is patched', async () => {
    const first = await acquireDeletionUnlock(config, {...fast, holder: 'run-one'})
    try {
      const patches = pair.kube.requests.filter((r) => r.method === 'PATCH').length
      const refused = await expectRefusal(acquireDeletionUnlock(config, {...fast, holder: 'run-two'}))
      expect(refused.exitCode).to.equal(ExitCode.PREFLIGHT_REFUSED)
      expect(refused.message).to.contain('held by run-one')
      expect(refused.message).to.contain(`lease ${ns()}/${DEFAULT_LEASE_NAME}`)
      expect(pair.kube.requests.filter((r) => r.method === 'PATCH').length).to.equal(patches)
      expect(leaseHolder()).to.equal('run-one')
    } finally {
      await first.relock()
    }

    expect(deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
  })

  it('the lease is renewed while held, so it does not expire under a long batch', async () => {
    const handle = await acquireDeletionUnlock(config, {...fast, leaseDurationSeconds: 1, renewIntervalMs: 100})
    try {
      const first = new Date(pair.kube.object('leases', DEFAULT_LEASE_NAME)!.spec.renewTime).getTime()
      await new Promise((resolve) => {
        setTimeout(resolve, 1500)
      })
      const later = new Date(pair.kube.object('leases', DEFAULT_LEASE_NAME)!.spec.renewTime).getTime()
      expect(later).to.be.greaterThan(first)
      const refused = await expectRefusal(acquireDeletionUnlock(config, {...fast, holder: 'latecomer'}))
      expect(refused.exitCode).to.equal(ExitCode.PREFLIGHT_REFUSED)
      expect(handle.lease.lost).to.equal(undefined)
    } finally {
      await handle.relock()
    }
  })

  it('an expired lease of a dead run is taken over (after one 409 conflict, re-read and retried)', async () => {
    const stale = new k8s.V1MicroTime(Date.now() - 10 * 60_000).toISOString()
    // A lease left behind by a run that died ten minutes ago without releasing it.
    pair.kube.upsert('leases', {
      metadata: {name: DEFAULT_LEASE_NAME},
      spec: {holderIdentity: 'dead-run', leaseDurationSeconds: 60, leaseTransitions: 3, renewTime: stale},
    })
    pair.kube.inject({method: 'PUT', path: `/leases/${DEFAULT_LEASE_NAME}`, status: 409, times: 1})
    const handle = await acquireDeletionUnlock(config, {...fast, holder: 'new-run'})
    try {
      const lease = pair.kube.object('leases', DEFAULT_LEASE_NAME)!
      expect(lease.spec.holderIdentity).to.equal('new-run')
      expect(lease.spec.leaseTransitions).to.equal(4)
      // MicroTime on the wire: six fractional digits, as the API server requires.
      expect(lease.spec.renewTime).to.match(/\.\d{6}Z$/)
    } finally {
      await handle.relock()
    }
  })

  it('403 on the patch: a clear error naming the StatefulSet, nothing changed, the lease released', async () => {
    pair.kube.inject({method: 'PATCH', status: 403, times: 1})
    const error = await expectRefusal(acquireDeletionUnlock(config, fast))
    expect(error.message).to.contain(`StatefulSet ${ns()}/${pair.kube.statefulset}`)
    expect(error.message).to.contain('HTTP 403')
    expect(error.suggestions.join(' ')).to.contain('patch on statefulsets')
    expect(error).to.not.be.instanceOf(RelockError)
    expect(pair.kube.object('leases', DEFAULT_LEASE_NAME)!.metadata.annotations ?? {}).to.not.have.property(LEASE_NOTE)
    expect(deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
    expect(leaseHolder()).to.equal(undefined)
  })

  it('a failed re-lock is loud (names the StatefulSet and the kubectl command), keeps the prior on the lease for the next run', async () => {
    const first = await acquireDeletionUnlock(config, {...fast, holder: 'run-crashed'})
    pair.kube.inject({method: 'PATCH', status: 403, times: 1})
    const failure = await expectRefusal(first.relock())
    expect(failure).to.be.instanceOf(RelockError)
    expect(failure.message).to.contain('RE-LOCK FAILED')
    expect(failure.message).to.contain(`StatefulSet ${ns()}/${pair.kube.statefulset}`)
    expect(failure.suggestions.join(' ')).to.contain(
      `kubectl -n ${ns()} set env statefulset/${pair.kube.statefulset} -c registry ${DELETE_ENV}=false`,
    )
    expect(deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'true'})
    expect(leaseHolder()).to.equal(undefined)
    expect(pair.kube.object('leases', DEFAULT_LEASE_NAME)!.metadata.annotations).to.deep.equal({
      [LEASE_NOTE]: JSON.stringify({prior: {name: DELETE_ENV, value: 'false'}}),
    })

    // The next run finds "true" but restores what the crashed run recorded, not "true".
    const messages: string[] = []
    const next = await acquireDeletionUnlock(config, {...fast, log: (m) => messages.push(m)})
    expect(next.prior).to.deep.equal({name: DELETE_ENV, value: 'false'})
    expect(messages.join('\n')).to.contain('a previous drc run did not re-lock')
    await next.relock()
    expect(deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
    expect(await del((await push()).digest)).to.equal(405)
    expect(pair.kube.object('leases', DEFAULT_LEASE_NAME)!.metadata.annotations ?? {}).to.not.have.property(LEASE_NOTE)
    // The first handle can retry its failed re-lock: nothing left to change, still no error.
    await first.relock()
  })

  it('withDeletionUnlocked: a re-lock failure after a successful fn rejects and is reported loudly', async () => {
    const reported: string[] = []
    const error = await expectRefusal(
      withDeletionUnlocked(
        config,
        async () => {
          pair.kube.inject({method: 'PATCH', status: 403, times: 1})
          return 'batch done'
        },
        {...fast, report: (m) => reported.push(m)},
      ),
    )
    expect(error.message).to.contain('RE-LOCK FAILED')
    expect(reported.join('\n')).to.contain(
      `kubectl -n ${ns()} set env statefulset/${pair.kube.statefulset} -c registry ${DELETE_ENV}=false`,
    )
    expect(deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'true'})
    // Put it back the way the error says an operator would, so later tests start locked.
    const next = await acquireDeletionUnlock(config, fast)
    await next.relock()
    expect(deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
  })

  /** The child of fixtures/unlock-child.ts: resolves `unlocked` when its fn runs, `exited` with its exit code. */
  function startChild() {
    const script = fileURLToPath(new URL('fixtures/unlock-child.ts', import.meta.url))
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', script, pair.kube.kubeconfigPath, ns(), pair.kube.statefulset],
      {env: {...process.env, KUBECONFIG: ''}, stdio: ['ignore', 'pipe', 'pipe']},
    )
    const out = {stderr: '', stdout: ''}
    child.stderr.on('data', (chunk) => {
      out.stderr += chunk
    })
    const exited = new Promise<null | number>((resolve) => {
      child.on('exit', (code) => resolve(code))
    })
    const unlocked = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk) => {
        out.stdout += chunk
        if (out.stdout.includes('UNLOCKED')) resolve()
      })
      exited.then(() => reject(new Error(`child exited before unlocking: ${out.stderr}`)))
    })
    unlocked.catch(() => {})
    return {child, exited, out, unlocked}
  }

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} during fn: the child process re-locks the registry and exits 130`, async () => {
      const {child, exited, out, unlocked} = startChild()
      await unlocked
      expect(deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'true'})
      const image = await push()
      expect(await del(image.digest)).to.equal(202)
      child.kill(signal)
      expect(await exited, out.stderr).to.equal(ExitCode.CANCELLED)
      expect(out.stdout).to.not.contain('FINISHED')
      expect(out.stderr).to.contain(`${signal}: cancelling, re-locking the registry first`)
      expect(deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
      await pair.kube.waitForRollouts()
      expect(await del((await push()).digest)).to.equal(405)
      expect(leaseHolder()).to.equal(undefined)
    })
  }

  it('SIGINT while waiting for the unlock rollout: the wait stops, the prior value is restored, exit 130', async () => {
    pair.kube.podNeverReady()
    const {child, exited, out} = startChild()
    while (deleteEnv()?.value !== 'true') {
      // eslint-disable-next-line no-await-in-loop
      await new Promise((resolve) => {
        setTimeout(resolve, 20)
      })
    }

    // The unlock rollout ends with an unready pod; the restore's rollout may become ready again.
    await pair.kube.waitForRollouts()
    pair.kube.clearFaults()
    const killedAt = Date.now()
    child.kill('SIGINT')
    expect(await exited, out.stderr).to.equal(ExitCode.CANCELLED)
    // Well before the child's 20 s rollout timeout: the signal stopped the wait instead of running it out.
    expect(Date.now() - killedAt).to.be.below(8000)
    expect(out.stdout).to.not.contain('UNLOCKED')
    expect(deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
    await pair.kube.waitForRollouts()
    expect(await del((await push()).digest)).to.equal(405)
    expect(leaseHolder()).to.equal(undefined)
  })

  // Last: the pod stays not ready until a later rollout, which nothing after this test needs.
  it('pod never ready: a timeout error, the prior value put back, the lease released', async () => {
    pair.kube.podNeverReady()
    const error = await expectRefusal(acquireDeletionUnlock(config, {...fast, rolloutTimeoutMs: 1500}))
    expect(error.message).to.match(/StatefulSet .* did not roll out within 2 s/)
    // The restore rollout cannot finish either (the pod stays unready), and the error says exactly that.
    expect(error).to.be.instanceOf(RelockError)
    expect(error.message).to.contain(`RE-LOCK NOT CONFIRMED: ${DELETE_ENV}=false was written back`)
    expect(deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
    expect(leaseHolder()).to.equal(undefined)
    await pair.kube.waitForRollouts()
    expect(pair.registry.env[DELETE_ENV]).to.equal('false')
  })
})
