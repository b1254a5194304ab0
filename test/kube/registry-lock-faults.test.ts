import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {fileURLToPath} from 'node:url'

import {LEASE_NOTE} from '../../packages/core/src/kube/lease.js'
import {
  acquireDeletionUnlock,
  DELETE_ENV,
  RelockError,
  withDeletionUnlocked,
} from '../../packages/core/src/kube/registry-lock.js'
import {ExitCode} from '../../packages/core/src/lib/exit-codes.js'
import {type ClusterRegistry, serviceAccountKubeconfig, startClusterRegistry} from '../support/kube-cluster.js'
import {expectRefusal, fast, LOCK_RULES, lockConfig, lockView, setRoleRules, withoutVerb} from './lock-helpers.js'

const PATCH_STS = {group: 'apps', resource: 'statefulsets', verb: 'patch'}

async function until(what: () => Promise<boolean>): Promise<void> {
  // eslint-disable-next-line no-await-in-loop -- polling
  while (!(await what())) {
    // eslint-disable-next-line no-await-in-loop
    await new Promise((resolve) => {
      setTimeout(resolve, 20)
    })
  }
}

describe('kube/registry-lock: RBAC refusals, signals and unready pods on the real Kubernetes API', () => {
  let pair: ClusterRegistry
  let v: ReturnType<typeof lockView>
  /** drc as a ServiceAccount bound to the least-privilege Role (the Role is named like the ServiceAccount). */
  let sa: {config: ReturnType<typeof lockConfig>; role: string}

  const revoke = () => setRoleRules(pair, sa.role, withoutVerb('patch', 'statefulsets'), {...PATCH_STS, allowed: false})
  const grant = () => setRoleRules(pair, sa.role, LOCK_RULES, {...PATCH_STS, allowed: true})

  before(async function () {
    this.timeout(120_000)
    pair = await startClusterRegistry()
    v = lockView(pair)
    const role = 'drc-lock'
    const kubeconfig = await serviceAccountKubeconfig(pair.cluster, pair.namespace, LOCK_RULES, role)
    sa = {config: lockConfig(pair, kubeconfig), role}
  })

  after(async () => pair?.stop())

  afterEach(async () => {
    pair.sim.holdReady(false)
    await grant()
    await pair.waitForRollouts()
  })

  it('least-privilege ServiceAccount: unlock and relock work with exactly the Role drc documents', async () => {
    const image = await v.push()
    const status = await withDeletionUnlocked(sa.config, async () => v.del(image.digest), fast)
    expect(status).to.equal(202)
    expect(await v.deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
    expect(await v.leaseHolder()).to.equal(undefined)
  })

  it('403 on the patch (Role without patch): a clear error naming the StatefulSet, nothing changed, the lease released', async () => {
    await revoke()
    const generation = await v.generation()
    const error = await expectRefusal(acquireDeletionUnlock(sa.config, fast))
    expect(error.message).to.contain(`StatefulSet ${pair.namespace}/${pair.name}`)
    expect(error.message).to.contain('HTTP 403')
    expect(error.suggestions.join(' ')).to.contain('patch on statefulsets')
    expect(error).to.not.be.instanceOf(RelockError)
    expect((await v.lease()).metadata.annotations ?? {}).to.not.have.property(LEASE_NOTE)
    expect(await v.generation()).to.equal(generation)
    expect(await v.deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
    expect(await v.leaseHolder()).to.equal(undefined)
  })

  it('a failed re-lock is loud (names the StatefulSet and the kubectl command), keeps the prior on the lease for the next run', async () => {
    const first = await acquireDeletionUnlock(sa.config, {...fast, holder: 'run-crashed'})
    await revoke()
    const failure = await expectRefusal(first.relock())
    expect(failure).to.be.instanceOf(RelockError)
    expect(failure.message).to.contain('RE-LOCK FAILED')
    expect(failure.message).to.contain(`StatefulSet ${pair.namespace}/${pair.name}`)
    expect(failure.suggestions.join(' ')).to.contain(
      `kubectl -n ${pair.namespace} set env statefulset/${pair.name} -c registry ${DELETE_ENV}=false`,
    )
    expect(await v.deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'true'})
    expect(await v.leaseHolder()).to.equal(undefined)
    expect((await v.lease()).metadata.annotations).to.deep.equal({
      [LEASE_NOTE]: JSON.stringify({prior: {name: DELETE_ENV, value: 'false'}}),
    })

    // The next run finds "true" but restores what the crashed run recorded, not "true".
    await grant()
    const messages: string[] = []
    const next = await acquireDeletionUnlock(sa.config, {...fast, log: (m) => messages.push(m)})
    expect(next.prior).to.deep.equal({name: DELETE_ENV, value: 'false'})
    expect(messages.join('\n')).to.contain('a previous drc run did not re-lock')
    await next.relock()
    expect(await v.deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
    expect(await v.del((await v.push()).digest)).to.equal(405)
    expect((await v.lease()).metadata.annotations ?? {}).to.not.have.property(LEASE_NOTE)
    // The first handle can retry its failed re-lock: nothing left to change, still no error.
    await first.relock()
  })

  it('withDeletionUnlocked: a re-lock failure after a successful fn rejects and is reported loudly', async () => {
    const reported: string[] = []
    const error = await expectRefusal(
      withDeletionUnlocked(sa.config, async () => revoke(), {...fast, report: (m) => reported.push(m)}),
    )
    expect(error.message).to.contain('RE-LOCK FAILED')
    expect(reported.join('\n')).to.contain(
      `kubectl -n ${pair.namespace} set env statefulset/${pair.name} -c registry ${DELETE_ENV}=false`,
    )
    expect(await v.deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'true'})
    // Put it back the way the error says an operator would, so later tests start locked.
    await grant()
    const next = await acquireDeletionUnlock(sa.config, fast)
    await next.relock()
    expect(await v.deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
  })

  /** The child of fixtures/unlock-child.ts: resolves `unlocked` when its fn runs, `exited` with its exit code. */
  function startChild() {
    const script = fileURLToPath(new URL('fixtures/unlock-child.ts', import.meta.url))
    const child = spawn(process.execPath, ['--import', 'tsx', script, pair.kubeconfigPath, pair.namespace, pair.name], {
      env: {...process.env, KUBECONFIG: ''},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
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
      expect(await v.deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'true'})
      const image = await v.push()
      expect(await v.del(image.digest)).to.equal(202)
      child.kill(signal)
      expect(await exited, out.stderr).to.equal(ExitCode.CANCELLED)
      expect(out.stdout).to.not.contain('FINISHED')
      expect(out.stderr).to.contain(`${signal}: cancelling, re-locking the registry first`)
      expect(await v.deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
      await pair.waitForRollouts()
      expect(await v.del((await v.push()).digest)).to.equal(405)
      expect(await v.leaseHolder()).to.equal(undefined)
    })
  }

  it('SIGINT while waiting for the unlock rollout: the wait stops, the prior value is restored, exit 130', async () => {
    pair.sim.holdReady(true)
    const {child, exited, out} = startChild()
    await until(async () => pair.registry.env[DELETE_ENV] === 'true')
    const killedAt = Date.now()
    child.kill('SIGINT')
    // A real StatefulSet does not replace an unready pod (OrderedReady): the restore's rollout can only proceed
    // once the pod passes readiness, as a slow registry finally would.
    await until(async () => (await v.deleteEnv())?.value === 'false')
    pair.sim.holdReady(false)
    expect(await exited, out.stderr).to.equal(ExitCode.CANCELLED)
    // Well before the child's 20 s rollout timeout: the signal stopped the wait instead of running it out.
    expect(Date.now() - killedAt).to.be.below(8000)
    expect(out.stdout).to.not.contain('UNLOCKED')
    await pair.waitForRollouts()
    expect(pair.registry.env[DELETE_ENV]).to.equal('false')
    expect(await v.del((await v.push()).digest)).to.equal(405)
    expect(await v.leaseHolder()).to.equal(undefined)
  })

  it('pod never ready: a timeout error, the prior value put back, the lease released', async () => {
    pair.sim.holdReady(true)
    const error = await expectRefusal(acquireDeletionUnlock(config(), {...fast, rolloutTimeoutMs: 1500}))
    expect(error.message).to.match(/StatefulSet .* did not roll out within 2 s/)
    // The restore's rollout cannot finish either (the real controller waits for the unready pod), and the error
    // says exactly that.
    expect(error).to.be.instanceOf(RelockError)
    expect(error.message).to.contain(`RE-LOCK NOT CONFIRMED: ${DELETE_ENV}=false was written back`)
    expect(await v.deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
    expect(await v.leaseHolder()).to.equal(undefined)
    pair.sim.holdReady(false)
    await pair.waitForRollouts()
    expect(pair.registry.env[DELETE_ENV]).to.equal('false')
  })

  const config = () => lockConfig(pair)
})
