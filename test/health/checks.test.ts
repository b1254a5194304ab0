import {expect} from 'chai'

import type {ServiceSettings} from '../support/harness.js'

import {REQUIRED_COLLECTIONS} from '../../packages/core/src/health/checks/mongodb.js'
import {setRoleRules} from '../kube/lock-helpers.js'
import {DRC_ROLE_RULES, withoutVerb} from '../support/drc-role.js'
import {
  type ClusterRegistry,
  endpointOf,
  resourcePath,
  serviceAccountKubeconfig,
  startClusterRegistry,
} from '../support/kube-cluster.js'
import {startInterposer} from '../support/kube-interpose.js'
import {kube} from '../support/kube-rest.js'
import {type RegistryHandle, startRegistry} from '../support/registry.js'
import {
  check,
  checkOne,
  createDominoCollections,
  deadPort,
  healthyEnv,
  pushImage,
  stopOwnServices,
  testServices,
  uniqueRepo,
} from './helpers.js'

describe('health checks against the real services', function () {
  // Keycloak takes ~20 s to start when this file runs without the global setup.
  this.timeout(180_000)
  let s: ServiceSettings
  let repo: string
  let database: string
  let env: Record<string, string>

  before(async () => {
    s = await testServices()
    repo = uniqueRepo()
    database = `health_${repo.replaceAll('-', '_')}`
    await Promise.all([
      pushImage(s.registry.url, `${repo}/environment`, '5f0000000000000000000001-1'),
      pushImage(s.registry.url, `${repo}/model`, '5f0000000000000000000002-v1-20250101_abc'),
      createDominoCollections(s.mongo.uri, database, REQUIRED_COLLECTIONS),
    ])
    env = healthyEnv(s, repo, database)
  })

  after(stopOwnServices)

  it('reports every check healthy when everything is reachable and configured', async () => {
    const results = await check(env)
    const byName = Object.fromEntries(results.map((r) => [r.name, r]))
    const expected = [
      'configuration',
      'registry',
      'mongodb',
      'kubernetes',
      'registry_rbac',
      'registry_lock',
      's3',
      ...(s.keycloak ? ['keycloak'] : []),
    ]
    for (const name of expected) expect(byName[name]?.status, `${name}: ${byName[name]?.message}`).to.equal('healthy')
    for (const r of results) {
      expect(r.durationMs).to.be.a('number').and.at.least(0)
      expect(r.required).to.equal(r.status !== 'skipped')
    }
  })

  describe('configuration', () => {
    it('is healthy for a valid configuration', async () => {
      const r = await checkOne(env, 'configuration')
      expect(r).to.include({message: 'Configuration is valid', status: 'healthy'})
    })

    it('is unhealthy, naming each bad key and its rule, instead of crashing', async () => {
      const r = await checkOne({...env, MONGODB_PORT: 'abc', REPOSITORY: 'bad repo!'}, 'configuration')
      expect(r.status).to.equal('unhealthy')
      expect(r.message).to.match(/^Configuration validation failed/)
      expect(r.message).to.match(/registry\.repository.*invalid characters/)
      expect(r.message).to.match(/MongoDB port must be an integer, got: abc/)
    })
  })

  describe('registry', () => {
    it('is healthy and counts the tags of <repo>/environment and <repo>/model', async () => {
      const r = await checkOne(env, 'registry')
      expect(r.status, r.message).to.equal('healthy')
      expect(r.message).to.match(/^Successfully connected to registry/)
      expect(r.details).to.deep.include({
        repositories: {[`${repo}/environment`]: 1, [`${repo}/model`]: 1},
        tags_count: 2,
      })
    })

    it('lists the configured repository itself when it names one', async () => {
      const r = await checkOne({...env, REPOSITORY: `${repo}/model`}, 'registry')
      expect(r.status).to.equal('healthy')
      expect(r.details.repositories).to.deep.equal({[`${repo}/model`]: 1})
    })

    it('is unhealthy with the "0 tags" hint when the repositories are empty', async () => {
      const r = await checkOne({...env, REPOSITORY: uniqueRepo('empty')}, 'registry')
      expect(r.status).to.equal('unhealthy')
      expect(r.message).to.match(/found 0 tags.*may indicate an authentication problem/)
    })

    it('is unhealthy when the registry does not answer', async () => {
      const r = await checkOne({...env, REGISTRY_URL: `http://127.0.0.1:${await deadPort()}`}, 'registry')
      expect(r.status).to.equal('unhealthy')
      expect(r.message).to.match(/Cannot reach registry http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/)
      expect(r.suggestions.join(' ')).to.match(/registry\.url/)
    })

    describe('with basic authentication', () => {
      let secured: RegistryHandle
      const auth = {password: 'right-password', username: 'drc'}

      before(async () => {
        secured = await startRegistry({basicAuth: auth})
        await pushImage(secured.url, `${repo}/environment`, 'e-1', auth)
      })

      after(async () => secured?.stop())

      it('is healthy with the right credentials', async () => {
        const r = await checkOne(
          {...env, REGISTRY_PASSWORD: auth.password, REGISTRY_URL: secured.url, REGISTRY_USERNAME: auth.username},
          'registry',
        )
        expect(r.status, r.message).to.equal('healthy')
      })

      it('is unhealthy with a wrong password, saying the credentials were refused', async () => {
        const r = await checkOne(
          {...env, REGISTRY_PASSWORD: 'wrong', REGISTRY_URL: secured.url, REGISTRY_USERNAME: auth.username},
          'registry',
        )
        expect(r.status).to.equal('unhealthy')
        expect(r.message).to.match(/refused the credentials .*\(HTTP 401\)/)
        expect(r.suggestions.join(' ')).to.match(/REGISTRY_PASSWORD/)
      })
    })
  })

  describe('mongodb', () => {
    it('is healthy when the ping works and Domino collections exist', async () => {
      const r = await checkOne(env, 'mongodb')
      expect(r.status, r.message).to.equal('healthy')
      expect(r.message).to.match(/^Successfully connected to MongoDB/)
      expect(r.details.collections_count).to.equal(REQUIRED_COLLECTIONS.length)
    })

    it('is unhealthy, naming the missing collections, for a database without them', async () => {
      const r = await checkOne({...env, MONGODB_DB: `${database}_empty`}, 'mongodb')
      expect(r.status).to.equal('unhealthy')
      expect(r.message).to.match(/lacks environments_v2, environment_revisions, .*users/)
    })

    it('is unhealthy when nothing listens on the port', async () => {
      const port = await deadPort()
      const r = await checkOne(
        {...env, DRC_MONGO_URI: `mongodb://127.0.0.1:${port}/?serverSelectionTimeoutMS=1000`},
        'mongodb',
      )
      expect(r.status).to.equal('unhealthy')
      expect(r.message).to.match(
        new RegExp(`cannot connect to MongoDB at mongodb://127\\.0\\.0\\.1:${port}/.*ECONNREFUSED`),
      )
    })
  })

  describe('s3', () => {
    it('is healthy for an existing bucket', async () => {
      const r = await checkOne(env, 's3')
      expect(r.status, r.message).to.equal('healthy')
      expect(r.message).to.match(/^Successfully accessed S3 bucket/)
    })

    it('is unhealthy for a bucket that does not exist', async () => {
      const r = await checkOne({...env, S3_BUCKET: 'no-such-bucket-drc'}, 's3')
      expect(r.status).to.equal('unhealthy')
      expect(r.message).to.match(/S3 bucket no-such-bucket-drc does not exist/)
    })

    it('is unhealthy when the endpoint does not answer', async () => {
      const r = await checkOne({...env, DRC_S3_ENDPOINT: `http://127.0.0.1:${await deadPort()}`}, 's3')
      expect(r.status).to.equal('unhealthy')
      expect(r.message).to.match(/Cannot access S3 bucket .*ECONNREFUSED/)
    })

    it('is unhealthy without AWS credentials', async () => {
      const r = await checkOne({...env, AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined}, 's3')
      // The SDK's default chain reads the process environment; only meaningful when it has no keys either.
      if (process.env.AWS_ACCESS_KEY_ID) return
      expect(r.status).to.equal('unhealthy')
      expect(r.message).to.match(/No AWS credentials found/)
    })

    it('is skipped when no bucket is configured', async () => {
      const r = await checkOne({...env, S3_BUCKET: undefined}, 's3')
      expect(r).to.include({required: false, status: 'skipped'})
      expect(r.message).to.match(/not configured/)
    })
  })

  describe('keycloak', () => {
    before(function () {
      if (!s.keycloak) this.skip()
    })

    it('is healthy with the admin password', async () => {
      const r = await checkOne(env, 'keycloak')
      expect(r.status, r.message).to.equal('healthy')
      expect(r.message).to.match(/admin token .* and read realm DominoRealm \(\d+ users\)/)
    })

    it('is unhealthy with a wrong password', async () => {
      const r = await checkOne({...env, KEYCLOAK_PASSWORD: 'wrong-password'}, 'keycloak')
      expect(r.status).to.equal('unhealthy')
      expect(r.message).to.match(
        /cannot log in to Keycloak .* as 'admin' \(realm master\): HTTP 40[01]: Invalid user credentials/,
      )
    })

    it('is unhealthy when the realm of Domino users does not exist', async () => {
      const r = await checkOne({...env, KEYCLOAK_REALM: 'NoSuchRealm'}, 'keycloak')
      expect(r.status).to.equal('unhealthy')
      expect(r.message).to.match(/cannot read users of realm NoSuchRealm: HTTP 404/)
    })

    it('is skipped when Keycloak is not configured', async () => {
      const r = await checkOne({...env, KEYCLOAK_URL: undefined}, 'keycloak')
      expect(r).to.include({required: false, status: 'skipped'})
    })
  })

  describe('kubernetes and registry RBAC (real API server, least-privilege ServiceAccount)', () => {
    let pair: ClusterRegistry
    let kubeEnv: Record<string, string>
    /** A ServiceAccount bound to drc's Role; tests narrow the Role and put it back. */
    const role = 'drc-health'
    let saKubeconfig: string
    const narrow = (verb: string, resource: string, group = '') =>
      setRoleRules(pair, role, withoutVerb(verb, resource), {allowed: false, group, resource, verb})
    const restore = () =>
      setRoleRules(pair, role, DRC_ROLE_RULES, {allowed: true, group: 'apps', resource: 'statefulsets', verb: 'patch'})

    before(async () => {
      // Its own namespace and registry in the shared API server, so Role changes cannot disturb other tests.
      pair = await startClusterRegistry({keycloakPassword: s.keycloak?.adminPassword})
      saKubeconfig = await serviceAccountKubeconfig(pair.cluster, pair.namespace, DRC_ROLE_RULES, role)
      kubeEnv = {
        ...env,
        DOMINO_PLATFORM_NAMESPACE: pair.namespace,
        DRC_REGISTRY_STATEFULSET: pair.name,
        KUBECONFIG: saKubeconfig,
      }
    })

    afterEach(async () => {
      await restore()
      for (const other of ['namespaces', 'statefulsets']) {
        // eslint-disable-next-line no-await-in-loop
        await setRoleRules(pair, role, DRC_ROLE_RULES, {
          allowed: true,
          group: other === 'statefulsets' ? 'apps' : '',
          resource: other,
          verb: 'get',
        })
      }
    })

    after(async () => pair?.stop())

    it('kubernetes is healthy when the platform namespace can be read', async () => {
      const r = await checkOne(kubeEnv, 'kubernetes')
      expect(r.status, r.message).to.equal('healthy')
      expect(r.message).to.match(
        new RegExp(`^Successfully connected to Kubernetes .* read namespace ${pair.namespace}`),
      )
    })

    it('kubernetes is unhealthy on 403 (Role without get on namespaces), saying which permission is missing', async () => {
      await narrow('get', 'namespaces')
      const r = await checkOne(kubeEnv, 'kubernetes')
      expect(r.status).to.equal('unhealthy')
      expect(r.message).to.match(new RegExp(`HTTP 403: namespaces "${pair.namespace}" is forbidden`))
      expect(r.details.status).to.equal(403)
      expect(r.suggestions.join(' ')).to.contain("'get' on namespaces")
    })

    it('kubernetes is unhealthy when the API server is down', async () => {
      const {readFileSync, writeFileSync} = await import('node:fs')
      const dead = await deadPort()
      const copy = `${saKubeconfig}.down.yaml`
      writeFileSync(
        copy,
        readFileSync(saKubeconfig, 'utf8').replace(/https:\/\/127\.0\.0\.1:\d+/, `https://127.0.0.1:${dead}`),
      )
      const r = await checkOne({...kubeEnv, KUBECONFIG: copy}, 'kubernetes')
      expect(r.status).to.equal('unhealthy')
      expect(r.message).to.match(new RegExp(`Cannot read namespace ${pair.namespace} .*ECONNREFUSED`))
    })

    it('a check that hangs is unhealthy after its timeout, without holding up the others', async () => {
      const proxy = await startInterposer(pair.cluster.endpoint, endpointOf(saKubeconfig).token)
      try {
        proxy.before('GET', new RegExp(`/api/v1/namespaces/${pair.namespace}$`), async () => {
          await new Promise((resolve) => {
            setTimeout(resolve, 3000)
          })
        })
        const started = Date.now()
        const results = await check({...kubeEnv, KUBECONFIG: proxy.kubeconfig}, ['configuration', 'kubernetes'], 1500)
        expect(Date.now() - started).to.be.below(2900)
        const [configuration, kubernetes] = results
        expect(configuration.status).to.equal('healthy')
        expect(kubernetes.status).to.equal('unhealthy')
        expect(kubernetes.message).to.equal('kubernetes check did not finish within 1.5 s')
      } finally {
        await proxy.stop()
      }
    })

    it('kubernetes is skipped when there is no configuration at all', async () => {
      const r = await checkOne({...kubeEnv, KUBECONFIG: undefined}, 'kubernetes')
      expect(r).to.include({required: false, status: 'skipped'})
      expect(r.message).to.match(/no Kubernetes configuration/)
    })

    it('kubernetes is unhealthy when the configured kubeconfig does not exist', async () => {
      const r = await checkOne({...kubeEnv, KUBECONFIG: '/nonexistent/kubeconfig'}, 'kubernetes')
      expect(r).to.include({required: true, status: 'unhealthy'})
      expect(r.message).to.match(/kubeconfig \/nonexistent\/kubeconfig .* does not exist/)
    })

    it('registry_rbac sends exactly one server-side dry-run PATCH and is healthy with the least-privilege Role', async () => {
      const before = await pair.get('statefulsets', pair.name)
      const proxy = await startInterposer(pair.cluster.endpoint, endpointOf(saKubeconfig).token)
      try {
        const r = await checkOne({...kubeEnv, KUBECONFIG: proxy.kubeconfig}, 'registry_rbac')
        expect(r.status, r.message).to.equal('healthy')
        expect(r.message).to.match(/PATCH .*dry-run/)
        const patches = proxy.requests.filter((q) => q.method === 'PATCH')
        expect(patches).to.have.length(1)
        expect(patches[0].path).to.match(
          new RegExp(`/apis/apps/v1/namespaces/${pair.namespace}/statefulsets/${pair.name}\\?.*dryRun=All`),
        )
      } finally {
        await proxy.stop()
      }

      // Dry run: the real server stored nothing, no rollout.
      const after = await pair.get('statefulsets', pair.name)
      expect(after.metadata.resourceVersion).to.equal(before.metadata.resourceVersion)
      expect(after.metadata.annotations ?? {}).to.deep.equal(before.metadata.annotations ?? {})
      expect(pair.rollouts()).to.equal(0)
    })

    it('registry_rbac is unhealthy when the Role lacks patch on statefulsets, naming the verb', async () => {
      await narrow('patch', 'statefulsets', 'apps')
      const r = await checkOne(kubeEnv, 'registry_rbac')
      expect(r.status).to.equal('unhealthy')
      expect(r.message).to.match(
        new RegExp(`does NOT have permission to PATCH StatefulSet ${pair.namespace}/${pair.name}`),
      )
      expect(r.suggestions.join(' ')).to.contain("'patch' on statefulsets")
      expect(r.details.status).to.equal(403)
    })

    for (const [verb, resource, group] of [
      ['update', 'leases', 'coordination.k8s.io'],
      ['create', 'leases', 'coordination.k8s.io'],
      ['list', 'pods', ''],
      ['get', 'statefulsets', 'apps'],
    ] as const) {
      it(`registry_rbac is unhealthy when the Role lacks ${verb} on ${resource}, naming the verb`, async () => {
        await setRoleRules(pair, role, withoutVerb(verb, resource), {allowed: false, group, resource, verb})
        const r = await checkOne(kubeEnv, 'registry_rbac')
        expect(r.status, r.message).to.equal('unhealthy')
        expect(r.message).to.contain(`may NOT '${verb}' on ${resource}`)
        expect(r.suggestions.join(' ')).to.contain(`grant '${verb}' on ${resource}`)
        await setRoleRules(pair, role, DRC_ROLE_RULES, {allowed: true, group, resource, verb})
      })
    }

    it('registry_rbac is skipped for an external registry', async () => {
      const explicit = await checkOne({...kubeEnv, DRC_REGISTRY_IN_CLUSTER: 'false'}, 'registry_rbac')
      expect(explicit).to.include({required: false, status: 'skipped'})
      expect(explicit.message).to.match(/not running in cluster.*skipped/)
      const detected = await checkOne({...kubeEnv, DRC_REGISTRY_IN_CLUSTER: 'auto'}, 'registry_rbac')
      expect(detected.status).to.equal('skipped')
      expect(detected.message).to.match(/127\.0\.0\.1 is not a cluster service name/)
    })

    it('registry_lock is healthy while deletion is disabled, skipped for an external registry', async () => {
      const locked = await checkOne(kubeEnv, 'registry_lock')
      expect(locked, locked.message).to.include({required: true, status: 'healthy'})
      expect(locked.message).to.contain('Deletion is disabled on the registry')
      const external = await checkOne({...kubeEnv, DRC_REGISTRY_IN_CLUSTER: 'false'}, 'registry_lock')
      expect(external).to.include({required: false, status: 'skipped'})
    })

    it('registry_lock is unhealthy when the StatefulSet cannot be read (403), and names the permission', async () => {
      await setRoleRules(pair, role, withoutVerb('get', 'statefulsets'), {
        allowed: false,
        group: 'apps',
        resource: 'statefulsets',
        verb: 'get',
      })
      const r = await checkOne(kubeEnv, 'registry_lock')
      expect(r.status).to.equal('unhealthy')
      expect(r.message).to.contain('HTTP 403')
      expect(r.suggestions.join(' ')).to.contain('statefulsets')
    })

    it('registry_lock is unhealthy for "yes" and a valueFrom (the registry reads YAML booleans), healthy for "False"', async () => {
      const {endpoint} = pair.cluster
      const stsPath = resourcePath('statefulsets', pair.namespace, pair.name)
      const withEnv = async (entry: object) => {
        const current = await kube(endpoint, 'GET', stsPath)
        current.body.spec.template.spec.containers[0].env = [entry]
        await kube(endpoint, 'PUT', stsPath, current.body)
        // The real controller replaces the pod: until then the check also sees the old pod's env.
        await pair.waitForRollouts()
      }

      try {
        await withEnv({name: 'REGISTRY_STORAGE_DELETE_ENABLED', value: 'yes'})
        expect((await checkOne(kubeEnv, 'registry_lock')).status).to.equal('unhealthy')
        await withEnv({name: 'REGISTRY_STORAGE_DELETE_ENABLED', valueFrom: {configMapKeyRef: {key: 'k', name: 'c'}}})
        expect((await checkOne(kubeEnv, 'registry_lock')).status).to.equal('unhealthy')
        await withEnv({name: 'REGISTRY_STORAGE_DELETE_ENABLED', value: 'False'})
        const healthy = await checkOne(kubeEnv, 'registry_lock')
        expect(healthy.status, healthy.message).to.equal('healthy')
      } finally {
        await withEnv({name: 'REGISTRY_STORAGE_DELETE_ENABLED', value: 'false'})
        await pair.waitForRollouts()
      }
    })

    it('registry_rbac detects an in-cluster registry from its Service name', async () => {
      const r = await checkOne(
        {
          ...kubeEnv,
          DRC_REGISTRY_IN_CLUSTER: 'auto',
          REGISTRY_URL: `docker-registry.${pair.namespace}.svc.cluster.local:5000`,
        },
        'registry_rbac',
      )
      expect(r.status, r.message).to.equal('healthy')
      expect(r.details.reason).to.equal(`Service ${pair.namespace}/docker-registry exists`)
    })

    it('keycloak takes the admin password from the keycloak-http secret when none is configured', async function () {
      if (!s.keycloak) this.skip()
      const r = await checkOne({...kubeEnv, KEYCLOAK_PASSWORD: undefined}, 'keycloak')
      expect(r.status, r.message).to.equal('healthy')
    })
  })

  describe('registry credentials from a real kubernetes.io/dockerconfigjson Secret', () => {
    let pair: ClusterRegistry
    let secured: RegistryHandle
    let saKubeconfig: string
    const auth = {password: 'from-secret', username: 'robot'}

    before(async () => {
      ;[pair, secured] = await Promise.all([startClusterRegistry(), startRegistry({basicAuth: auth})])
      saKubeconfig = await serviceAccountKubeconfig(pair.cluster, pair.namespace, DRC_ROLE_RULES)
      await pushImage(secured.url, `${repo}/model`, 'm-v1', auth)
      const dockerConfig = {
        auths: {[secured.host]: {auth: Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}},
      }
      // The API server validates the type: a dockerconfigjson Secret must carry valid .dockerconfigjson data.
      await kube(pair.cluster.endpoint, 'POST', resourcePath('secrets', pair.namespace), {
        data: {'.dockerconfigjson': Buffer.from(JSON.stringify(dockerConfig)).toString('base64')},
        metadata: {name: 'custom-registry-auth'},
        type: 'kubernetes.io/dockerconfigjson',
      })
    })

    after(async () => Promise.all([pair?.stop(), secured?.stop()]))

    it('uses the dockerconfigjson secret named by REGISTRY_AUTH_SECRET (read as the least-privilege ServiceAccount)', async () => {
      const viaSecret = {
        ...env,
        DOMINO_PLATFORM_NAMESPACE: pair.namespace,
        KUBECONFIG: saKubeconfig,
        REGISTRY_AUTH_SECRET: 'custom-registry-auth',
        REGISTRY_URL: secured.url,
      }
      const r = await checkOne(viaSecret, 'registry')
      expect(r.status, r.message).to.equal('healthy')
      expect(r.details.tags_count).to.equal(1)
      // Without the secret (and without other credentials) the same registry refuses.
      const without = await checkOne({...viaSecret, REGISTRY_AUTH_SECRET: undefined}, 'registry')
      expect(without.status).to.equal('unhealthy')
      expect(without.message).to.match(/HTTP 401/)
    })
  })
})
