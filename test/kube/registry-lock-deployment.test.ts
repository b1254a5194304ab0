import {expect} from 'chai'

import {
  acquireDeletionUnlock,
  DELETE_ENV,
  RelockError,
  withDeletionUnlocked,
} from '../../packages/core/src/kube/registry-lock.js'
import {DRC_ROLE_RULES, withoutVerb} from '../support/drc-role.js'
import {type ClusterRegistry, serviceAccountKubeconfig, startClusterRegistry} from '../support/kube-cluster.js'
import {expectRefusal, fast, lockConfig, lockView, setRoleRules} from './lock-helpers.js'

describe('kube/registry-lock: a registry run as a Deployment (real Deployment controller, simulated node)', () => {
  let pair: ClusterRegistry
  let v: ReturnType<typeof lockView>
  const deploymentEnv = async () =>
    (await pair.get('deployments', pair.name)).spec.template.spec.containers[0].env.find(
      (e: {name: string}) => e.name === DELETE_ENV,
    )

  before(async function () {
    this.timeout(120_000)
    pair = await startClusterRegistry({kind: 'Deployment'})
    v = lockView(pair)
  })

  after(async () => pair?.stop())

  it('lock → unlock → re-lock → unlock again: DELETE 405/202/405/202/405, the Deployment rolled out each time', async () => {
    const config = lockConfig(pair)
    expect(await pair.get('statefulsets', pair.name)).to.equal(undefined)
    for (let round = 0; round < 2; round++) {
      const [a, b] = [await v.push(), await v.push()] // eslint-disable-line no-await-in-loop
      expect(await v.del(a.digest)).to.equal(405) // eslint-disable-line no-await-in-loop
      const rollouts = pair.rollouts()
      const messages: string[] = []
      // eslint-disable-next-line no-await-in-loop
      const inside = await withDeletionUnlocked(
        config,
        async ({handle}) => {
          expect(handle.prior).to.deep.equal({name: DELETE_ENV, value: 'false'})
          expect(await deploymentEnv()).to.deep.equal({name: DELETE_ENV, value: 'true'})
          expect(pair.registry.env[DELETE_ENV]).to.equal('true')
          return v.del(a.digest)
        },
        {...fast, log: (m) => messages.push(m)},
      )
      expect(inside).to.equal(202)
      expect(messages.join('\n')).to.contain(`Deployment ${pair.namespace}/${pair.name}`)
      expect(pair.rollouts() - rollouts).to.equal(2)
      expect(await deploymentEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'}) // eslint-disable-line no-await-in-loop
      expect(pair.registry.env[DELETE_ENV]).to.equal('false')
      expect(await v.del(b.digest)).to.equal(405) // eslint-disable-line no-await-in-loop
      expect(await v.leaseHolder()).to.equal(undefined) // eslint-disable-line no-await-in-loop
    }
  })

  it('a failed re-lock names the Deployment and the kubectl command for a deployment; a retry re-locks', async () => {
    const rules = [...DRC_ROLE_RULES, {apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'patch']}]
    const role = 'drc-deploy'
    const kubeconfig = await serviceAccountKubeconfig(pair.cluster, pair.namespace, rules, role)
    const patchDeployments = {group: 'apps', resource: 'deployments', verb: 'patch'}
    const handle = await acquireDeletionUnlock(lockConfig(pair, kubeconfig), fast)
    expect(handle.changed).to.equal(true)
    await setRoleRules(pair, role, withoutVerb('patch', 'deployments', rules), {...patchDeployments, allowed: false})
    const failure = await expectRefusal(handle.relock())
    expect(failure).to.be.instanceOf(RelockError)
    expect(failure.message).to.contain(
      `RE-LOCK FAILED: deletion may still be enabled on the registry (Deployment ${pair.namespace}/${pair.name})`,
    )
    expect(failure.suggestions.join(' ')).to.contain(
      `kubectl -n ${pair.namespace} set env deployment/${pair.name} -c registry ${DELETE_ENV}=false`,
    )
    await setRoleRules(pair, role, rules, {...patchDeployments, allowed: true})
    await handle.relock()
    await pair.waitForRollouts()
    const dep = await pair.get('deployments', pair.name)
    expect(dep.status.updatedReplicas).to.equal(1)
    expect(dep.status.readyReplicas).to.equal(1)
    expect(await deploymentEnv()).to.deep.equal({name: DELETE_ENV, value: 'false'})
    expect(pair.registry.env[DELETE_ENV]).to.equal('false')
  })
})
