/* eslint-disable n/no-unsupported-features/node-builtins -- global fetch is available (unflagged) on Node 20, our floor */
import * as k8s from '@kubernetes/client-node'
import {expect} from 'chai'
import {randomBytes} from 'node:crypto'
import {Writable} from 'node:stream'
import {setTimeout as sleep} from 'node:timers/promises'

import {type RegistryWithKube, startRegistryWithKube} from './harness.js'
import {deleteManifest, pushImage} from './registry-push.js'

const {PatchStrategy, setHeaderOptions} = k8s

/** Waits like a rollout watcher would: new generation observed, revisions equal, a Ready pod. */
async function waitRolledOut(apps: k8s.AppsV1Api, core: k8s.CoreV1Api, ns: string, name: string): Promise<void> {
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    // eslint-disable-next-line no-await-in-loop
    const sts = await apps.readNamespacedStatefulSet({name, namespace: ns})
    // eslint-disable-next-line no-await-in-loop
    const pods = await core.listNamespacedPod({labelSelector: `app.kubernetes.io/name=${name}`, namespace: ns})
    const ready = pods.items.some((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
    const s = sts.status!
    if (
      s.observedGeneration === sts.metadata!.generation &&
      s.readyReplicas === 1 &&
      s.currentRevision === s.updateRevision &&
      ready
    )
      return
    // eslint-disable-next-line no-await-in-loop
    await sleep(50)
  }

  throw new Error(`StatefulSet ${name} did not roll out within 20 s`)
}

function sink(append: (s: string) => void): Writable {
  return new Writable({
    write(chunk, _encoding, done) {
      append(String(chunk))
      done()
    },
  })
}

const errorCode = (error: unknown) => (error as {code?: number}).code
const errorStatus = (error: unknown) => JSON.parse(String((error as {body?: unknown}).body)) as k8s.V1Status

async function expectApiError(promise: Promise<unknown>, code: number): Promise<k8s.V1Status> {
  try {
    await promise
  } catch (error) {
    expect(errorCode(error), String(error)).to.equal(code)
    return errorStatus(error)
  }

  throw new Error(`expected HTTP ${code}, the call succeeded`)
}

describe('test support: fake Kubernetes API driving the real registry', () => {
  let pair: RegistryWithKube
  let kc: k8s.KubeConfig
  let core: k8s.CoreV1Api
  let apps: k8s.AppsV1Api
  let coordination: k8s.CoordinationV1Api
  const ns = 'domino-platform'
  const sts = 'docker-registry'

  before(async () => {
    pair = await startRegistryWithKube({kube: {token: 'secret-token'}})
    kc = new k8s.KubeConfig()
    kc.loadFromFile(pair.kube.kubeconfigPath)
    core = kc.makeApiClient(k8s.CoreV1Api)
    apps = kc.makeApiClient(k8s.AppsV1Api)
    coordination = kc.makeApiClient(k8s.CoordinationV1Api)
  })

  after(async () => pair?.stop())

  afterEach(() => pair.kube.clearFaults())

  it('serves the seeded namespace, StatefulSet, pods by label, service and secrets through client-node', async () => {
    expect((await core.readNamespace({name: ns})).status?.phase).to.equal('Active')
    const statefulSet = await apps.readNamespacedStatefulSet({name: sts, namespace: ns})
    expect(statefulSet.spec?.template.spec?.containers[0].env).to.deep.equal([
      {name: 'REGISTRY_STORAGE_DELETE_ENABLED', value: 'false'},
    ])
    const selector = Object.entries(statefulSet.spec!.selector.matchLabels!)
      .map(([k, v]) => `${k}=${v}`)
      .join(',')
    expect(
      (await core.listNamespacedPod({labelSelector: selector, namespace: ns})).items.map((p) => p.metadata?.name),
    ).to.deep.equal(['docker-registry-0'])
    expect(
      (await core.listNamespacedPod({labelSelector: 'app.kubernetes.io/name=other', namespace: ns})).items,
    ).to.have.length(0)
    expect((await core.readNamespacedService({name: sts, namespace: ns})).spec?.ports?.[0].port).to.equal(5000)
    const secret = await core.readNamespacedSecret({name: 'domino-registry', namespace: ns})
    expect(secret.type).to.equal('kubernetes.io/dockerconfigjson')
    const dockerConfig = JSON.parse(Buffer.from(secret.data!['.dockerconfigjson'], 'base64').toString())
    expect(dockerConfig.auths[pair.registry.host].username).to.equal('domino-registry')
    const mongo = await core.readNamespacedSecret({name: 'mongodb-replicaset-admin', namespace: ns})
    expect(Buffer.from(mongo.data!.user, 'base64').toString()).to.equal('admin')
    const missing = await expectApiError(core.readNamespacedSecret({name: 'nope', namespace: ns}), 404)
    expect(missing).to.include({code: 404, kind: 'Status', reason: 'NotFound', status: 'Failure'})
    expect(missing.message).to.equal('secrets "nope" not found')
  })

  it('answers 401 without the bearer token and 415 for an unknown patch content type', async () => {
    const anonymous = await fetch(`${pair.kube.url}/api/v1/namespaces/${ns}`)
    expect(anonymous.status).to.equal(401)
    expect(await anonymous.json()).to.include({kind: 'Status', reason: 'Unauthorized'})
    const badType = await fetch(`${pair.kube.url}/apis/apps/v1/namespaces/${ns}/statefulsets/${sts}`, {
      body: '{}',
      headers: {authorization: 'Bearer secret-token', 'content-type': 'application/json'},
      method: 'PATCH',
    })
    expect(badType.status).to.equal(415)
  })

  it('unlocks: JSON patch env to "true" restarts the registry, DELETE gives 202; merge patch back gives 405 UNSUPPORTED', async () => {
    const first = await pushImage(pair.registry.url, 'dominodatalab/environment', 'a', [randomBytes(1024)])
    const second = await pushImage(pair.registry.url, 'dominodatalab/environment', 'b', [randomBytes(1024)])
    expect(await deleteManifest(pair.registry.url, 'dominodatalab/environment', first.digest)).to.deep.equal({
      code: 'UNSUPPORTED',
      status: 405,
    })

    const before = await apps.readNamespacedStatefulSet({name: sts, namespace: ns})
    const patched = await apps.patchNamespacedStatefulSet(
      {
        body: [{op: 'replace', path: '/spec/template/spec/containers/0/env/0/value', value: 'true'}],
        name: sts,
        namespace: ns,
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    )
    expect(patched.metadata?.generation).to.equal(before.metadata!.generation! + 1)
    expect(Number(patched.metadata?.resourceVersion)).to.be.greaterThan(Number(before.metadata?.resourceVersion))
    await waitRolledOut(apps, core, ns, sts)
    expect(pair.registry.env.REGISTRY_STORAGE_DELETE_ENABLED).to.equal('true')
    expect(await deleteManifest(pair.registry.url, 'dominodatalab/environment', first.digest)).to.deep.equal({
      code: undefined,
      status: 202,
    })

    // A merge patch replaces lists whole: sending only name+env would drop the image, which the API refuses.
    const partial = {
      spec: {
        template: {
          spec: {containers: [{env: [{name: 'REGISTRY_STORAGE_DELETE_ENABLED', value: 'false'}], name: 'registry'}]},
        },
      },
    }
    const refused = await expectApiError(
      apps.patchNamespacedStatefulSet(
        {body: partial, name: sts, namespace: ns},
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
      422,
    )
    expect(refused.message).to.contain('containers[0].image: Required value')
    const current = await apps.readNamespacedStatefulSet({name: sts, namespace: ns})
    const containers = current.spec!.template.spec!.containers.map((c, i) =>
      i === 0
        ? {...c, env: c.env!.map((e) => (e.name === 'REGISTRY_STORAGE_DELETE_ENABLED' ? {...e, value: 'false'} : e))}
        : c,
    )
    await apps.patchNamespacedStatefulSet(
      {body: {spec: {template: {spec: {containers}}}}, name: sts, namespace: ns},
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )
    await waitRolledOut(apps, core, ns, sts)
    expect(await deleteManifest(pair.registry.url, 'dominodatalab/environment', second.digest)).to.deep.equal({
      code: 'UNSUPPORTED',
      status: 405,
    })
    expect(pair.kube.rollouts).to.equal(2)
  })

  it('strategic merge patch merges env by name and rejects a non-string env value with 400', async () => {
    const result = await apps.patchNamespacedStatefulSet(
      {
        body: {spec: {template: {spec: {containers: [{env: [{name: 'EXTRA', value: 'x'}], name: 'registry'}]}}}},
        name: sts,
        namespace: ns,
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    )
    expect(result.spec?.template.spec?.containers[0].env?.map((e) => e.name)).to.deep.equal([
      'REGISTRY_STORAGE_DELETE_ENABLED',
      'EXTRA',
    ])
    expect(result.spec?.template.spec?.containers[0].image).to.equal('registry:2.8.2')
    await waitRolledOut(apps, core, ns, sts)
    const rejected = await expectApiError(
      apps.patchNamespacedStatefulSet(
        {
          body: [{op: 'replace', path: '/spec/template/spec/containers/0/env/0/value', value: true}],
          name: sts,
          namespace: ns,
        },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      ),
      400,
    )
    expect(rejected.reason).to.equal('BadRequest')
  })

  it('dry-run patch validates and answers but changes nothing', async () => {
    const before = await apps.readNamespacedStatefulSet({name: sts, namespace: ns})
    const {rollouts} = pair.kube
    const preview = await apps.patchNamespacedStatefulSet(
      {
        body: [{op: 'replace', path: '/spec/template/spec/containers/0/env/0/value', value: 'true'}],
        dryRun: 'All',
        name: sts,
        namespace: ns,
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    )
    expect(preview.spec?.template.spec?.containers[0].env?.[0].value).to.equal('true')
    const after = await apps.readNamespacedStatefulSet({name: sts, namespace: ns})
    expect(after).to.deep.equal(before)
    await pair.kube.waitForRollouts()
    expect(pair.kube.rollouts).to.equal(rollouts)
    // A dry run is still validated: a failing JSON-patch test op is refused.
    await expectApiError(
      apps.patchNamespacedStatefulSet(
        {body: [{op: 'test', path: '/spec/replicas', value: 7}], dryRun: 'All', name: sts, namespace: ns},
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      ),
      422,
    )
  })

  it('leases: create, conflict 409 on create and on a stale resourceVersion, replace, delete', async () => {
    const body = {metadata: {name: 'drc-registry-unlock'}, spec: {holderIdentity: 'run-1', leaseDurationSeconds: 60}}
    const created = await coordination.createNamespacedLease({body, namespace: ns})
    expect(created.metadata?.resourceVersion).to.be.a('string')
    expect((await expectApiError(coordination.createNamespacedLease({body, namespace: ns}), 409)).reason).to.equal(
      'AlreadyExists',
    )
    const renewed = await coordination.replaceNamespacedLease({
      body: {...created, spec: {...created.spec, holderIdentity: 'run-1', renewTime: new Date()}},
      name: 'drc-registry-unlock',
      namespace: ns,
    })
    expect(renewed.metadata?.resourceVersion).to.not.equal(created.metadata?.resourceVersion)
    const stale = await expectApiError(
      coordination.replaceNamespacedLease({
        body: {...created, spec: {holderIdentity: 'run-2'}},
        name: 'drc-registry-unlock',
        namespace: ns,
      }),
      409,
    )
    expect(stale.reason).to.equal('Conflict')
    expect(
      (await coordination.readNamespacedLease({name: 'drc-registry-unlock', namespace: ns})).spec?.holderIdentity,
    ).to.equal('run-1')
    await coordination.deleteNamespacedLease({name: 'drc-registry-unlock', namespace: ns})
    await expectApiError(coordination.readNamespacedLease({name: 'drc-registry-unlock', namespace: ns}), 404)
  })

  it('fault injection: 403 on patch, delayed responses, a pod that never becomes ready', async () => {
    pair.kube.inject({method: 'PATCH', status: 403, times: 1})
    const forbidden = await expectApiError(
      apps.patchNamespacedStatefulSet(
        {body: {metadata: {labels: {x: 'y'}}}, name: sts, namespace: ns},
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
      403,
    )
    expect(forbidden.reason).to.equal('Forbidden')
    expect(forbidden.message).to.contain('cannot patch resource "statefulsets" in API group "apps"')

    pair.kube.inject({delayMs: 300, path: '/api/v1/namespaces/domino-platform', times: 1})
    const started = Date.now()
    await core.readNamespace({name: ns})
    expect(Date.now() - started).to.be.at.least(290)

    pair.kube.podNeverReady()
    await apps.patchNamespacedStatefulSet(
      {
        body: [{op: 'replace', path: '/spec/template/spec/containers/0/env/0/value', value: 'true'}],
        name: sts,
        namespace: ns,
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    )
    await pair.kube.waitForRollouts()
    const pod = await core.readNamespacedPod({name: 'docker-registry-0', namespace: ns})
    expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).to.equal('False')
    expect((await apps.readNamespacedStatefulSet({name: sts, namespace: ns})).status?.readyReplicas).to.equal(0)
    pair.kube.clearFaults()
    await apps.patchNamespacedStatefulSet(
      {
        body: [{op: 'replace', path: '/spec/template/spec/containers/0/env/0/value', value: 'false'}],
        name: sts,
        namespace: ns,
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    )
    await waitRolledOut(apps, core, ns, sts)
  })

  it('pods/exec over WebSocket runs registry garbage-collect against the real registry and frees bytes', async () => {
    const layer = randomBytes(128 * 1024)
    const image = await pushImage(pair.registry.url, 'dominodatalab/model', 'gc', [layer])
    await apps.patchNamespacedStatefulSet(
      {
        body: [{op: 'replace', path: '/spec/template/spec/containers/0/env/0/value', value: 'true'}],
        name: sts,
        namespace: ns,
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    )
    await waitRolledOut(apps, core, ns, sts)
    expect((await deleteManifest(pair.registry.url, 'dominodatalab/model', image.digest)).status).to.equal(202)
    const before = pair.registry.blobBytesOnDisk()

    let stdout = ''
    let stderr = ''
    const status = await new Promise<k8s.V1Status>((resolve, reject) => {
      new k8s.Exec(kc)
        .exec(
          ns,
          'docker-registry-0',
          'registry',
          ['registry', 'garbage-collect', '/etc/docker/registry/config.yml'],
          sink((s) => {
            stdout += s
          }),
          sink((s) => {
            stderr += s
          }),
          null,
          false,
          resolve,
        )
        .catch(reject)
    })
    expect(status.status, stderr).to.equal('Success')
    expect(stdout + stderr).to.contain('blob eligible for deletion')
    expect(before - pair.registry.blobBytesOnDisk()).to.be.at.least(layer.length)

    const failing = await new Promise<k8s.V1Status>((resolve, reject) => {
      new k8s.Exec(kc)
        .exec(
          ns,
          'docker-registry-0',
          'registry',
          ['registry', 'garbage-collect', '/etc/docker/registry/missing.yml'],
          sink(() => {}),
          sink(() => {}),
          null,
          false,
          resolve,
        )
        .catch(reject)
    })
    expect(failing.status).to.equal('Failure')
    expect(failing.reason).to.equal('NonZeroExitCode')
  })
})
