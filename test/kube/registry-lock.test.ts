import * as k8s from '@kubernetes/client-node'
import {expect} from 'chai'

import {
  acquireDeletionUnlock,
  DEFAULT_LEASE_NAME,
  DELETE_ENV,
  withDeletionUnlocked,
} from '../../packages/core/src/kube/registry-lock.js'
import {ExitCode} from '../../packages/core/src/lib/exit-codes.js'
import {type ClusterRegistry, resourcePath, startClusterRegistry} from '../support/kube-cluster.js'
import {type Interposer, startInterposer} from '../support/kube-interpose.js'
import {kube, kubeCall} from '../support/kube-rest.js'
import {expectRefusal, fast, lockConfig, lockView} from './lock-helpers.js'

describe('kube/registry-lock: deletion unlock/relock against the real Kubernetes API and a real registry', () => {
  let pair: ClusterRegistry
  let config: ReturnType<typeof lockConfig>
  let v: ReturnType<typeof lockView>

  before(async function () {
    this.timeout(120_000)
    pair = await startClusterRegistry()
    config = lockConfig(pair)
    v = lockView(pair)
  })

  after(async () => pair?.stop())

  afterEach(async () => pair.waitForRollouts())

  it('prior "false": DELETE is 405 while locked, 202 inside withDeletionUnlocked, 405 after; env and lease restored', async () => {
    const [a, b] = [await v.push(), await v.push()]
    expect(await v.deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
    expect(await v.del(a.digest)).to.equal(405)
    const rollouts = pair.rollouts()
    const inside = await withDeletionUnlocked(
      config,
      async ({handle}) => {
        expect(handle.prior).to.deep.equal({name: DELETE_ENV, value: 'false'})
        expect(handle.changed).to.equal(true)
        expect(await v.leaseHolder()).to.equal(handle.lease.holder)
        expect(await v.deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'true'})
        // The real StatefulSet controller replaced the pod; the simulated node runs the registry with its env.
        expect(pair.registry.env[DELETE_ENV]).to.equal('true')
        return v.del(a.digest)
      },
      fast,
    )
    expect(inside).to.equal(202)
    expect(pair.rollouts() - rollouts).to.equal(2)
    expect(await v.deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
    expect(pair.registry.env[DELETE_ENV]).to.equal('false')
    expect(await v.del(b.digest)).to.equal(405)
    expect(await v.leaseHolder()).to.equal(undefined)
    const sts = await pair.get('statefulsets', pair.name)
    expect(sts.status.currentRevision).to.equal(sts.status.updateRevision)
  })

  it('prior absent: unlocks with "true", relock removes the variable again; relock twice is harmless', async () => {
    await v.setEnvDirectly(undefined)
    expect(await v.deleteEnv()).to.equal(undefined)
    const [a, b] = [await v.push(), await v.push()]
    expect(await v.del(a.digest)).to.equal(405)
    const handle = await acquireDeletionUnlock(config, fast)
    expect(handle.prior).to.equal(undefined)
    expect(await v.deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'true'})
    expect(await v.del(a.digest)).to.equal(202)
    await Promise.all([handle.relock(), handle.relock()])
    await handle.relock()
    expect(await v.deleteEnv()).to.equal(undefined)
    expect(pair.registry.env).to.not.have.property(DELETE_ENV)
    expect(await v.del(b.digest)).to.equal(405)
    expect(await v.leaseHolder()).to.equal(undefined)
    await v.setEnvDirectly('false')
  })

  it('prior "true": nothing is patched or rolled out, relock leaves "true" and still releases the lease', async () => {
    await v.setEnvDirectly('true')
    const generation = await v.generation()
    const rollouts = pair.rollouts()
    const handle = await acquireDeletionUnlock(config, fast)
    expect(handle.changed).to.equal(false)
    expect(await v.leaseHolder()).to.equal(handle.lease.holder)
    await handle.relock()
    expect(await v.generation()).to.equal(generation)
    expect(pair.rollouts()).to.equal(rollouts)
    expect(await v.deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'true'})
    expect(await v.leaseHolder()).to.equal(undefined)
    await v.setEnvDirectly('false')
  })

  it('fn throwing: its error propagates and the registry is re-locked anyway', async () => {
    const image = await v.push()
    const boom = new Error('deletion batch failed')
    let error: unknown
    try {
      await withDeletionUnlocked(
        config,
        async () => {
          expect(await v.del(image.digest)).to.equal(202)
          throw boom
        },
        fast,
      )
    } catch (error_) {
      error = error_
    }

    expect(error).to.equal(boom)
    expect(await v.deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
    expect(await v.del((await v.push()).digest)).to.equal(405)
    expect(await v.leaseHolder()).to.equal(undefined)
  })

  it('a second concurrent acquire is refused with exit code 3 naming the holder; nothing is patched', async () => {
    const first = await acquireDeletionUnlock(config, {...fast, holder: 'run-one'})
    try {
      const generation = await v.generation()
      const refused = await expectRefusal(acquireDeletionUnlock(config, {...fast, holder: 'run-two'}))
      expect(refused.exitCode).to.equal(ExitCode.PREFLIGHT_REFUSED)
      expect(refused.message).to.contain('held by run-one')
      expect(refused.message).to.contain(`lease ${pair.namespace}/${DEFAULT_LEASE_NAME}`)
      expect(await v.generation()).to.equal(generation)
      expect(await v.leaseHolder()).to.equal('run-one')
    } finally {
      await first.relock()
    }

    expect(await v.deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
  })

  it('two runs starting at the same moment: exactly one holds the lease, the other is refused (exit 3)', async () => {
    const results = await Promise.allSettled([
      acquireDeletionUnlock(config, {...fast, holder: 'racer-a'}),
      acquireDeletionUnlock(config, {...fast, holder: 'racer-b'}),
    ])
    const won = results.filter((r) => r.status === 'fulfilled')
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    expect(won, JSON.stringify(lost.map((l) => String(l.reason)))).to.have.length(1)
    expect(lost[0].reason.exitCode).to.equal(ExitCode.PREFLIGHT_REFUSED)
    const handle = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireDeletionUnlock>>>).value
    expect(await v.leaseHolder()).to.equal(handle.lease.holder)
    await handle.relock()
    expect(await v.deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
  })

  it('the lease is renewed while held, so it does not expire under a long batch', async () => {
    const handle = await acquireDeletionUnlock(config, {...fast, leaseDurationSeconds: 1, renewIntervalMs: 100})
    try {
      const first = new Date((await v.lease()).spec.renewTime).getTime()
      await new Promise((resolve) => {
        setTimeout(resolve, 1500)
      })
      const later = new Date((await v.lease()).spec.renewTime).getTime()
      expect(later).to.be.greaterThan(first)
      const refused = await expectRefusal(acquireDeletionUnlock(config, {...fast, holder: 'latecomer'}))
      expect(refused.exitCode).to.equal(ExitCode.PREFLIGHT_REFUSED)
      expect(handle.lease.lost).to.equal(undefined)
    } finally {
      await handle.relock()
    }
  })

  describe('with another writer between drc read and write (real resourceVersion conflicts)', () => {
    let proxy: Interposer

    before(async () => {
      proxy = await startInterposer(pair.cluster.endpoint)
    })

    after(async () => proxy?.stop())

    it('an expired lease of a dead run is taken over after a real 409 (re-read and retried)', async () => {
      const stale = new k8s.V1MicroTime(Date.now() - 10 * 60_000).toISOString()
      const leasePath = resourcePath('leases', pair.namespace, DEFAULT_LEASE_NAME)
      const {endpoint} = pair.cluster
      await kubeCall(endpoint, {allow: [404], method: 'DELETE', path: leasePath})
      // A lease left behind by a run that died ten minutes ago without releasing it.
      await kube(endpoint, 'POST', resourcePath('leases', pair.namespace), {
        metadata: {name: DEFAULT_LEASE_NAME},
        spec: {holderIdentity: 'dead-run', leaseDurationSeconds: 60, leaseTransitions: 3, renewTime: stale},
      })
      // Between drc's read of the stale lease and its takeover, someone else touches it: the server answers 409.
      proxy.before('PUT', new RegExp(`/leases/${DEFAULT_LEASE_NAME}$`), async () => {
        const current = await kube(endpoint, 'GET', leasePath)
        current.body.metadata.labels = {touched: 'by-another-writer'}
        await kube(endpoint, 'PUT', leasePath, current.body)
      })
      const handle = await acquireDeletionUnlock(lockConfig(pair, proxy.kubeconfig), {...fast, holder: 'new-run'})
      try {
        const puts = proxy.requests.filter(
          (r) => r.method === 'PUT' && r.path.endsWith(`/leases/${DEFAULT_LEASE_NAME}`),
        )
        expect(puts.length).to.be.greaterThanOrEqual(2)
        const lease = await v.lease()
        expect(lease.spec.holderIdentity).to.equal('new-run')
        expect(lease.spec.leaseTransitions).to.equal(4)
        expect(lease.metadata.labels).to.deep.equal({touched: 'by-another-writer'})
        // MicroTime on the wire: six fractional digits, as the API server requires.
        expect(lease.spec.renewTime).to.match(/\.\d{6}Z$/)
      } finally {
        await handle.relock()
      }
    })

    it('the env list reordered between drc read and patch: refused, the other writer kept, nothing clobbered', async () => {
      const {endpoint} = pair.cluster
      const stsPath = resourcePath('statefulsets', pair.namespace, pair.name)
      // Someone inserts a variable before ours right after drc read the StatefulSet.
      proxy.before('PATCH', new RegExp(`/statefulsets/${pair.name}$`), async () => {
        const current = await kube(endpoint, 'GET', stsPath)
        current.body.spec.template.spec.containers[0].env.unshift({name: 'OTHER_WRITER', value: 'x'})
        await kube(endpoint, 'PUT', stsPath, current.body)
      })
      const error = await expectRefusal(acquireDeletionUnlock(lockConfig(pair, proxy.kubeconfig), fast))
      expect(error.message).to.contain(`StatefulSet ${pair.namespace}/${pair.name}`)
      const {env} = (await pair.get('statefulsets', pair.name)).spec.template.spec.containers[0]
      expect(env).to.deep.equal([
        {name: 'OTHER_WRITER', value: 'x'},
        {name: DELETE_ENV, value: 'false'},
      ])
      expect(await v.leaseHolder()).to.equal(undefined)
      await pair.waitForRollouts()
      expect(await v.del((await v.push()).digest)).to.equal(405)
      // Put the template back the way the other tests expect it.
      const current = await kube(endpoint, 'GET', stsPath)
      current.body.spec.template.spec.containers[0].env = [{name: DELETE_ENV, value: 'false'}]
      await kube(endpoint, 'PUT', stsPath, current.body)
    })
  })
})
