import {expect} from 'chai'
import {writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {secretDataReader} from '../../packages/core/src/kube/client.js'
import {checkOne} from '../health/helpers.js'
import {type ClusterRegistry, startClusterRegistry} from '../support/kube-cluster.js'
import {kubeconfigYaml} from '../support/kube-control-plane.js'
import {kube} from '../support/kube-rest.js'
import {helmBinary, helmTemplate, type K8sObject, objectPath, serverSideApply} from './chart.js'

interface Rule {
  apiGroups: string[]
  resourceNames?: string[]
  resources: string[]
  verbs: string[]
}

/** The rules with one verb of one rule taken away (a rule left without verbs is dropped: the API refuses it). */
const without = (rules: Rule[], index: number, verb: string): Rule[] =>
  rules
    .map((r, i) => (i === index ? {...r, verbs: r.verbs.filter((v) => v !== verb)} : r))
    .filter((r) => r.verbs.length > 0)

/**
 * The chart's Role, exactly as `helm template` renders it, bound to the chart's ServiceAccount in the real API
 * server; drc authenticates with a TokenRequest token of that ServiceAccount.
 */
describe('helm chart RBAC: drc health checks with exactly the rendered Role (real API server)', function () {
  this.timeout(900_000)
  let pair: ClusterRegistry
  let role: K8sObject
  let env: Record<string, string>

  async function setRules(
    rules: Rule[],
    probe: {allowed: boolean; group: string; name?: string; resource: string; verb: string},
  ) {
    const {endpoint} = pair.cluster
    await serverSideApply(endpoint, {...role, rules})
    const user = `system:serviceaccount:${pair.namespace}:drc`
    const {allowed, ...attributes} = probe
    const spec = {resourceAttributes: {...attributes, namespace: pair.namespace}, user}
    // The authorizer's cache follows the Role within moments: wait until it answers as expected.
    for (let i = 0; i < 100; i++) {
      // eslint-disable-next-line no-await-in-loop
      const answer = await kube(endpoint, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec,
      })
      if (Boolean(answer.body.status?.allowed) === allowed) return
      // eslint-disable-next-line no-await-in-loop
      await new Promise((resolve) => {
        setTimeout(resolve, 50)
      })
    }
  }

  before(async () => {
    await helmBinary()
    pair = await startClusterRegistry()
    const {endpoint} = pair.cluster
    const objects = await helmTemplate(['serviceAccount.name=drc'], pair.namespace)
    for (const o of objects.filter((x) => ['Role', 'RoleBinding', 'ServiceAccount'].includes(x.kind)))
      // eslint-disable-next-line no-await-in-loop
      await serverSideApply(endpoint, o)
    role = objects.find((o) => o.kind === 'Role')!
    const token = await kube(
      endpoint,
      'POST',
      `${objectPath(objects.find((o) => o.kind === 'ServiceAccount')!)}/token`,
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {expirationSeconds: 3600},
      },
    )
    const kubeconfig = path.join(os.tmpdir(), `drc-helm-rbac-${process.pid}.yaml`)
    writeFileSync(kubeconfig, kubeconfigYaml(endpoint.url, endpoint.ca, token.body.status.token, 'drc'), {mode: 0o600})
    env = {
      DOMINO_PLATFORM_NAMESPACE: pair.namespace,
      DRC_REGISTRY_IN_CLUSTER: 'auto',
      DRC_REGISTRY_STATEFULSET: pair.name,
      KUBECONFIG: kubeconfig,
      // In-cluster detection reads the Service named by the URL's host (the chart's registry.service).
      REGISTRY_URL: `docker-registry.${pair.namespace}.svc.cluster.local:5000`,
    }
  })

  afterEach(async () => {
    if (role) await setRules(role.rules, {allowed: true, group: 'apps', resource: 'statefulsets', verb: 'patch'})
  })

  after(async () => pair?.stop())

  it('kubernetes and registry_rbac are healthy with exactly the rendered rules', async () => {
    const k = await checkOne(env, 'kubernetes')
    expect(k.status, k.message).to.equal('healthy')
    const r = await checkOne(env, 'registry_rbac')
    expect(r.status, r.message).to.equal('healthy')
    expect(r.details.reason).to.equal(`Service ${pair.namespace}/docker-registry exists`)
    expect(await secretDataReader(async () => clientsFor(env))(pair.namespace, 'domino-registry')).to.be.an('object')
  })

  it('every lock verb of the Role is needed: without it registry_rbac is unhealthy, naming the verb', async () => {
    const rules = role.rules as Rule[]
    const lockRules = rules.flatMap((r, index) =>
      ['leases', 'pods', 'statefulsets'].includes(r.resources[0]) ? r.verbs.map((verb) => ({index, r, verb})) : [],
    )
    expect(lockRules.map((l) => `${l.r.resources[0]}:${l.verb}`)).to.have.members([
      'statefulsets:get',
      'statefulsets:patch',
      'pods:list',
      'leases:get',
      'leases:update',
      'leases:create',
    ])
    for (const {index, r, verb} of lockRules) {
      const [resource] = r.resources
      // eslint-disable-next-line no-await-in-loop
      await setRules(without(rules, index, verb), {allowed: false, group: r.apiGroups[0], resource, verb, ...named(r)})
      // eslint-disable-next-line no-await-in-loop
      const result = await checkOne(env, 'registry_rbac')
      expect(result.status, `${resource} ${verb}: ${result.message}`).to.equal('unhealthy')
      expect(result.message.toLowerCase(), `${resource} ${verb}`).to.contain(verb)
      expect(result.message, `${resource} ${verb}`).to.contain(resource.replace(/s$/, ''))
      // eslint-disable-next-line no-await-in-loop
      await setRules(rules, {allowed: true, group: r.apiGroups[0], resource, verb, ...named(r)})
    }
  })

  it('namespaces get, services get and secrets get are each needed by the check or lookup that uses them', async () => {
    const rules = role.rules as Rule[]
    const at = (resource: string) => rules.findIndex((r) => r.resources[0] === resource)

    await setRules(without(rules, at('namespaces'), 'get'), {
      allowed: false,
      group: '',
      name: pair.namespace,
      resource: 'namespaces',
      verb: 'get',
    })
    const k = await checkOne(env, 'kubernetes')
    expect(k.status).to.equal('unhealthy')
    expect(k.suggestions.join(' ')).to.contain("'get' on namespaces")

    await setRules(without(rules, at('services'), 'get'), {
      allowed: false,
      group: '',
      name: 'docker-registry',
      resource: 'services',
      verb: 'get',
    })
    const detected = await checkOne(env, 'registry_rbac')
    // Without the Service, detection falls back to the StatefulSet: still in cluster, but not how the URL says.
    expect(detected.details.reason).to.equal(`StatefulSet ${pair.namespace}/docker-registry exists`)

    await setRules(without(rules, at('secrets'), 'get'), {
      allowed: false,
      group: '',
      name: 'domino-registry',
      resource: 'secrets',
      verb: 'get',
    })
    let denied = ''
    try {
      await secretDataReader(async () => clientsFor(env))(pair.namespace, 'domino-registry')
    } catch (error) {
      denied = String(error)
    }

    expect(denied).to.match(/403|forbidden/i)
    // The Role names the secret: any other secret of the namespace stays unreadable even with the full rules.
    await setRules(rules, {allowed: true, group: '', name: 'domino-registry', resource: 'secrets', verb: 'get'})
    const other = await secretDataReader(async () => clientsFor(env))(pair.namespace, 'mongodb-replicaset-admin').catch(
      String,
    )
    expect(other).to.match(/403|forbidden/i)
  })
})

const named = (r: Rule) => (r.resourceNames ? {name: r.resourceNames[0]} : {})

async function clientsFor(env: Record<string, string>) {
  const {createKubeClients} = await import('../../packages/core/src/kube/client.js')
  const {loadConfig} = await import('../../packages/core/src/config/load.js')
  const loaded = await loadConfig({cwd: '/nonexistent-drc-cwd', env: {...env, HOME: '/nonexistent-drc-home'}})
  return createKubeClients(loaded.config, {...env, HOME: '/nonexistent-drc-home'})
}
