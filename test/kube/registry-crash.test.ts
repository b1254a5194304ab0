import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {fileURLToPath} from 'node:url'

import type {LockRegistryResult} from '../../packages/core/src/kube/registry-relock.js'
import type {HealthCommandResult} from '../../src/commands/health.js'

import {LEASE_NOTE} from '../../packages/core/src/kube/lease.js'
import {acquireDeletionUnlock, DEFAULT_LEASE_NAME, DELETE_ENV} from '../../packages/core/src/kube/registry-lock.js'
import {DrcError} from '../../packages/core/src/lib/errors.js'
import {ExitCode} from '../../packages/core/src/lib/exit-codes.js'
import {BIN, isolatedOclifEnv, REPO_ROOT} from '../support/cli.js'
import {type ClusterRegistry, resourcePath, startClusterRegistry} from '../support/kube-cluster.js'
import {kube, kubeCall} from '../support/kube-rest.js'
import {deleteManifest, pushImage} from '../support/registry-push.js'
import {lockView} from './lock-helpers.js'

const REPO = 'dominodatalab/environment'
const sleep = (ms: number) =>
  new Promise((resolve) => {
    setTimeout(resolve, ms)
  })

/** The built binary, spawned asynchronously: the node simulator runs in this process and must keep answering. */
async function drc(args: string[], env: Record<string, string | undefined>) {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    env: {...process.env, FORCE_COLOR: '0', NO_COLOR: '1', ...env},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const out = {stderr: '', stdout: ''}
  child.stdout.on('data', (c) => {
    out.stdout += c
  })
  child.stderr.on('data', (c) => {
    out.stderr += c
  })
  const code = await new Promise<null | number>((resolve) => {
    child.on('exit', (c) => resolve(c))
  })
  return {code, ...out, json: <T>() => JSON.parse(out.stdout).result as T}
}

describe('registry lock after a crash: SIGKILL mid-delete, drc health, drc registry lock (real Kubernetes API + real registry)', function () {
  this.timeout(120_000)
  let pair: ClusterRegistry
  let v: ReturnType<typeof lockView>
  let env: Record<string, string | undefined>
  let tagCounter = 0
  const config = () => ({
    kubernetes: {
      domino_platform_namespace: pair.namespace,
      kubeconfig: pair.kubeconfigPath,
      registry_config_path: '/etc/docker/registry/config.yml',
      registry_in_cluster: 'true',
      registry_statefulset: pair.name,
    },
  })
  const sts = () => `StatefulSet ${pair.namespace}/${pair.name}`
  /** DELETE of a freshly pushed image: 202 while unlocked, 405 while locked. */
  const deleteStatus = async () => {
    const image = await pushImage(pair.registry.url, REPO, `t${++tagCounter}`, [randomBytes(256)])
    return (await deleteManifest(pair.registry.url, REPO, image.digest)).status
  }

  const setEnvDirectly = (value: string | undefined) => v.setEnvDirectly(value)

  /** A drc-like process that unlocks and then "deletes" for a minute; SIGKILLed once DELETE answers 202. */
  async function killWhileUnlocked(leaseSeconds?: number): Promise<string> {
    const script = fileURLToPath(new URL('fixtures/unlock-child.ts', import.meta.url))
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        script,
        pair.kubeconfigPath,
        pair.namespace,
        pair.name,
        ...(leaseSeconds ? [String(leaseSeconds)] : []),
      ],
      {env: {...process.env, KUBECONFIG: ''}, stdio: ['ignore', 'pipe', 'pipe']},
    )
    const exited = new Promise<null | number | string>((resolve) => {
      child.on('exit', (code, signal) => resolve(signal ?? code))
    })
    let stdout = ''
    child.stdout.on('data', (c) => {
      stdout += c
    })
    const deadline = Date.now() + 30_000
    // eslint-disable-next-line no-await-in-loop -- polling
    while (!stdout.includes('UNLOCKED') || (await v.deleteEnv())?.value !== 'true') {
      if (Date.now() > deadline) throw new Error(`child did not unlock: ${stdout}`)
      // eslint-disable-next-line no-await-in-loop
      await sleep(20)
    }

    expect(await deleteStatus()).to.equal(202)
    child.kill('SIGKILL')
    expect(await exited).to.equal('SIGKILL')
    const holder = (await v.lease())!.spec.holderIdentity as string
    expect(holder, 'the killed run leaves its lease behind').to.match(/\/pid-\d+\//)
    return holder
  }

  before(async () => {
    pair = await startClusterRegistry()
    v = lockView(pair)
    env = {
      ...isolatedOclifEnv(),
      CONFIG_FILE: undefined,
      DOMINO_PLATFORM_NAMESPACE: pair.namespace,
      DRC_REGISTRY_IN_CLUSTER: 'true',
      DRC_REGISTRY_STATEFULSET: pair.name,
      HOME: '/nonexistent-drc-home',
      KUBECONFIG: pair.kubeconfigPath,
      REGISTRY_URL: pair.registry.url,
    }
  })

  after(async () => pair?.stop())

  afterEach(async () => pair.waitForRollouts())

  it('prior "false": after SIGKILL health exits 3 naming the unlocked registry and the dead run; lock restores "false"', async () => {
    expect(await v.deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
    const holder = await killWhileUnlocked()

    const health = await drc(['health', '--check', 'registry_lock'], env)
    expect(health.code, health.stderr).to.equal(ExitCode.PREFLIGHT_REFUSED)
    expect(health.stdout).to.match(/registry_lock\s+✗ unhealthy\s+Deletion is UNLOCKED on the registry/)
    expect(health.stdout).to.contain(`${sts()}: ${DELETE_ENV}=true`)
    expect(health.stdout).to.contain(`is held by ${holder}, whose process on this host is gone`)
    expect(health.stdout).to.contain(`it recorded the prior setting ${DELETE_ENV}=false`)
    expect(health.stdout).to.contain('→ drc registry lock restores REGISTRY_STORAGE_DELETE_ENABLED=false')
    expect(health.stdout).to.not.match(/delete lease/)

    const lock = await drc(['registry', 'lock', '--json'], env)
    expect(lock.code, lock.stderr).to.equal(0)
    const result = lock.json<LockRegistryResult>()
    expect(result).to.include({
      after: `${DELETE_ENV}=false`,
      before: `${DELETE_ENV}=true`,
      changed: true,
      source: 'recorded',
      tookOverFrom: holder,
    })
    expect(await v.deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
    expect(pair.registry.env[DELETE_ENV]).to.equal('false')
    expect(await deleteStatus()).to.equal(405)
    expect((await v.lease())!.spec.holderIdentity).to.equal(undefined)
    expect((await v.lease())!.metadata.annotations ?? {}).to.not.have.property(LEASE_NOTE)

    const healthy = await drc(['health', '--check', 'registry_lock', '--json'], env)
    expect(healthy.code, healthy.stdout).to.equal(0)
    expect(healthy.json<HealthCommandResult>().results[0]).to.include({name: 'registry_lock', status: 'healthy'})

    const again = await drc(['registry', 'lock'], env)
    expect(again.code, again.stderr).to.equal(0)
    expect(again.stdout).to.match(/^already locked: REGISTRY_STORAGE_DELETE_ENABLED=false/)
  })

  it('prior absent, lease expired: status and health name the expired lease; lock removes the variable again', async () => {
    await setEnvDirectly(undefined)
    const holder = await killWhileUnlocked(1)
    await sleep(1500)

    const status = await drc(['registry', 'status'], env)
    expect(status.code, status.stderr).to.equal(ExitCode.PREFLIGHT_REFUSED)
    expect(status.stdout).to.contain(`was held by ${holder} and expired at`)
    expect(status.stdout).to.contain(`it recorded the prior setting ${DELETE_ENV} absent`)
    const health = await drc(['health', '--check', 'registry_lock', '--json'], env)
    expect(health.code).to.equal(ExitCode.PREFLIGHT_REFUSED)
    const [check] = health.json<HealthCommandResult>().results
    expect(check).to.include({required: true, status: 'unhealthy'})
    expect(check.details).to.deep.include({state: 'unlocked-by-crashed-run'})
    expect(check.suggestions.join(' ')).to.contain(`drc registry lock restores ${DELETE_ENV} absent`)

    const lock = await drc(['registry', 'lock'], env)
    expect(lock.code, lock.stderr).to.equal(0)
    expect(lock.stdout).to.contain(`locked: ${DELETE_ENV}=true → ${DELETE_ENV} absent`)
    expect(lock.stderr).to.contain(`took over lease ${pair.namespace}/${DEFAULT_LEASE_NAME} from ${holder}`)
    expect(lock.stderr).to.contain('waiting for the rollout')
    expect(await v.deleteEnv()).to.equal(undefined)
    expect(pair.registry.env).to.not.have.property(DELETE_ENV)
    expect(await deleteStatus()).to.equal(405)
    expect((await v.lease())!.spec.holderIdentity).to.equal(undefined)
    expect((await v.lease())!.metadata.annotations ?? {}).to.not.have.property(LEASE_NOTE)
    expect((await drc(['health', '--check', 'registry_lock'], env)).code).to.equal(0)
    await setEnvDirectly('false')
  })

  it('after SIGKILL the next deletion run takes the expired lease over and restores the recorded prior, not "true"', async () => {
    await killWhileUnlocked(1)
    await sleep(1500)
    const messages: string[] = []
    const next = await acquireDeletionUnlock(config(), {log: (m) => messages.push(m), pollIntervalMs: 50})
    expect(next.prior).to.deep.equal({name: DELETE_ENV, value: 'false'})
    await next.relock()
    expect(messages.join('\n')).to.contain('a previous drc run did not re-lock')
    expect(await v.deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
    expect(await deleteStatus()).to.equal(405)
  })

  it('no lease, unlocked by hand: health exits 3 (nothing explains it); lock sets "false"; lock again changes nothing', async () => {
    // An empty lease (no holder, no note), as an operator's clean-up might leave it.
    const leases = resourcePath('leases', pair.namespace)
    await kubeCall(pair.cluster.endpoint, {allow: [404], method: 'DELETE', path: `${leases}/${DEFAULT_LEASE_NAME}`})
    await kube(pair.cluster.endpoint, 'POST', leases, {metadata: {name: DEFAULT_LEASE_NAME}, spec: {}})
    await setEnvDirectly('true')
    const health = await drc(['health', '--check', 'registry_lock'], env)
    expect(health.code).to.equal(ExitCode.PREFLIGHT_REFUSED)
    expect(health.stdout).to.contain('no drc lease explains it')
    expect(health.stdout).to.contain(`drc registry lock sets ${DELETE_ENV}=false (no prior setting is recorded)`)

    const lock = await drc(['registry', 'lock', '--json'], env)
    expect(lock.code, lock.stderr).to.equal(0)
    expect(lock.json<LockRegistryResult>()).to.include({after: `${DELETE_ENV}=false`, source: 'unknown-prior'})
    expect(await v.deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
    expect(await deleteStatus()).to.equal(405)

    const before = await v.generation()
    const again = await drc(['registry', 'lock', '--json'], env)
    expect(again.code).to.equal(0)
    expect(again.json<LockRegistryResult>()).to.include({changed: false, source: 'already-locked'})
    expect(await v.generation()).to.equal(before)
  })

  it('a live lease of another run: health is healthy with a warning, lock refuses (exit 3) unless --force', async () => {
    const running = await acquireDeletionUnlock(config(), {holder: 'busy-run', pollIntervalMs: 50})
    try {
      expect(await v.deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'true'})
      const health = await drc(['health', '--check', 'registry_lock', '--json'], env)
      expect(health.code).to.equal(0)
      const [check] = health.json<HealthCommandResult>().results
      expect(check.status).to.equal('healthy')
      expect(check.message).to.contain('by a drc run in progress')
      expect(check.message).to.contain('is held by busy-run')
      expect(check.details).to.have.property('warning')

      const before = await v.generation()
      const refused = await drc(['registry', 'lock'], env)
      expect(refused.code).to.equal(ExitCode.PREFLIGHT_REFUSED)
      expect(refused.stderr).to.contain('a drc run holds the deletion lease')
      expect(refused.stderr).to.contain('busy-run')
      expect(refused.stderr).to.contain('drc registry lock --force')
      expect(await v.generation()).to.equal(before)
      expect(await v.deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'true'})

      // A deletion run refused by the live lease points at the lock command, never at deleting the lease.
      let runRefusal: DrcError | undefined
      await acquireDeletionUnlock(config(), {holder: 'other-run'}).catch((error: DrcError) => {
        runRefusal = error
      })
      expect(runRefusal?.exitCode).to.equal(ExitCode.PREFLIGHT_REFUSED)
      expect(runRefusal?.suggestions.join(' ')).to.contain('drc registry lock --force')
      expect(runRefusal?.suggestions.join(' ')).to.not.match(/delete lease/)

      const forced = await drc(['registry', 'lock', '--force', '--json'], env)
      expect(forced.code, forced.stderr).to.equal(0)
      expect(forced.json<LockRegistryResult>()).to.include({source: 'recorded', tookOverFrom: 'busy-run'})
      expect(await v.deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
      expect(await deleteStatus()).to.equal(405)
    } finally {
      // Its lease was taken over: its own re-lock may fail to write the lease, the registry is locked anyway.
      await running.relock().catch(() => {})
    }

    expect(await v.deleteEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
  })
})
