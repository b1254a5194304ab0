import {expect} from 'chai'
import {mkdtempSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type {DrcConfig} from '../../packages/core/src/config/types.js'

import {loadConfig} from '../../packages/core/src/config/load.js'
import {
  createKubeClients,
  KubeUnavailableError,
  lazySecretReader,
  secretDataReader,
  secretReader,
} from '../../packages/core/src/kube/client.js'
import {serviceOfRegistryUrl} from '../../packages/core/src/kube/registry-location.js'
import {resolveMongoTarget} from '../../packages/core/src/services/mongo.js'
import {setRoleRules} from '../kube/lock-helpers.js'
import {DRC_ROLE_RULES, withoutVerb} from '../support/drc-role.js'
import {type ClusterRegistry, serviceAccountKubeconfig, startClusterRegistry} from '../support/kube-cluster.js'

async function config(env: Record<string, string>): Promise<DrcConfig> {
  return (await loadConfig({cwd: '/nonexistent-drc-cwd', env})).config
}

describe('kube client and platform secrets (real Kubernetes API, least-privilege ServiceAccount)', () => {
  let pair: ClusterRegistry
  let ns: string
  /** drc's kubeconfig: a ServiceAccount token bound to drc's Role. */
  const kube = {kubeconfigPath: ''}
  const role = 'drc-secrets'
  const env = {HOME: '/nonexistent-drc-home'}
  const secretsGet = {group: '', resource: 'secrets', verb: 'get'}

  before(async () => {
    pair = await startClusterRegistry({mongo: {password: 'p@ss:w/rd', user: 'mongo-admin'}})
    ns = pair.namespace
    kube.kubeconfigPath = await serviceAccountKubeconfig(pair.cluster, ns, DRC_ROLE_RULES, role)
  })

  afterEach(async () => setRoleRules(pair, role, DRC_ROLE_RULES, {...secretsGet, allowed: true}))

  after(async () => pair?.stop())

  it('loads the kubeconfig named by KUBECONFIG and reads secrets decoded', async () => {
    const clients = await createKubeClients(await config({KUBECONFIG: kube.kubeconfigPath}), env)
    expect(clients.source).to.equal(`kubeconfig:${kube.kubeconfigPath}`)
    const data = await secretReader(clients)(ns, 'mongodb-replicaset-admin')
    expect(data).to.deep.equal({password: 'p@ss:w/rd', user: 'mongo-admin'})
  })

  it('names the secret when it is missing or forbidden', async () => {
    const read = secretReader(await createKubeClients(await config({KUBECONFIG: kube.kubeconfigPath}), env))
    let message = ''
    await read(ns, 'no-such-secret').catch((error: Error) => {
      message = error.message
    })
    expect(message).to.equal(`secret ${ns}/no-such-secret does not exist`)
    await setRoleRules(pair, role, withoutVerb('get', 'secrets'), {...secretsGet, allowed: false})
    await read(ns, 'keycloak-http').catch((error: Error) => {
      message = error.message
    })
    expect(message).to.match(
      new RegExp(`^not allowed to read secret ${ns}/keycloak-http \\(HTTP 403: secrets "keycloak-http" is forbidden`),
    )
  })

  it('gives the registry credentials module raw data, and null for a missing secret', async () => {
    const clients = await createKubeClients(await config({KUBECONFIG: kube.kubeconfigPath}), env)
    const read = secretDataReader(async () => clients)
    const raw = await read(ns, 'domino-registry')
    expect(Object.keys(raw ?? {})).to.deep.equal(['.dockerconfigjson'])
    expect(JSON.parse(Buffer.from(raw!['.dockerconfigjson'], 'base64').toString('utf8'))).to.have.property('auths')
    expect(await read(ns, 'absent')).to.equal(null)
  })

  it('builds the MongoDB URI from the mongodb-replicaset-admin secret, URL-encoded', async () => {
    const c = await config({DOMINO_PLATFORM_NAMESPACE: ns, KUBECONFIG: kube.kubeconfigPath})
    const target = await resolveMongoTarget(c, {readSecret: lazySecretReader(c, env)})
    expect(target.uri).to.equal('mongodb://mongo-admin:p%40ss%3Aw%2Frd@mongodb-replicaset:27017/?replicaSet=rs0')
    expect(target.redacted).not.to.include('p%40ss')
  })

  it('refuses clearly when there is no Kubernetes configuration, or the named kubeconfig is unusable', async () => {
    const none = await createKubeClients(await config({}), env).catch((error: unknown) => error)
    expect(none).to.be.instanceOf(KubeUnavailableError)
    expect((none as KubeUnavailableError).configured).to.equal(false)
    const broken = path.join(mkdtempSync(path.join(os.tmpdir(), 'drc-kc-')), 'config')
    writeFileSync(broken, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n')
    const bad = await createKubeClients(await config({KUBECONFIG: broken}), env).catch((error: unknown) => error)
    expect(bad).to.be.instanceOf(KubeUnavailableError)
    expect((bad as KubeUnavailableError).configured).to.equal(true)
    expect((bad as Error).message).to.match(/has no current context/)
  })

  it('finds the service and namespace of an in-cluster registry URL', () => {
    expect(serviceOfRegistryUrl('docker-registry.domino-platform.svc.cluster.local:5000', 'x')).to.deep.equal({
      name: 'docker-registry',
      namespace: 'domino-platform',
    })
    expect(serviceOfRegistryUrl('https://docker-registry:5000', 'dp')).to.deep.equal({
      name: 'docker-registry',
      namespace: 'dp',
    })
    expect(serviceOfRegistryUrl('registry.svc.cluster.local', 'dp')).to.deep.equal({name: 'registry', namespace: 'dp'})
  })
})
