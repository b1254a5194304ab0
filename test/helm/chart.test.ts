import {expect} from 'chai'
import {randomBytes} from 'node:crypto'

import {testCluster} from '../support/kube-cluster.js'
import {kube} from '../support/kube-rest.js'
import {
  EVERYTHING_APPLY,
  helmBinary,
  helmLint,
  helmTemplate,
  helmTemplateText,
  type K8sObject,
  objectPath,
  podSpecs,
  serverSideApply,
  STRATEGIES,
} from './chart.js'

const argsOf = (o: K8sObject): string[] => o.spec.jobTemplate.spec.template.spec.containers[0].args

describe('helm chart deploy/helm/drc', function () {
  // The first run builds helm from the Go module proxy (minutes, then cached).
  this.timeout(900_000)

  before(async () => {
    await helmBinary()
  })

  it('passes helm lint --strict with default values and with every strategy enabled + apply', async () => {
    expect(await helmLint()).to.match(/1 chart\(s\) linted, 0 chart\(s\) failed/)
    expect(await helmLint(EVERYTHING_APPLY)).to.match(/1 chart\(s\) linted, 0 chart\(s\) failed/)
  })

  it('renders no CronJob by default, and one per enabled strategy, dry run unless apply: true', async () => {
    const defaults = await helmTemplate()
    expect(defaults.filter((o) => o.kind === 'CronJob')).to.have.length(0)
    expect(defaults.map((o) => o.kind)).to.include.members(['ConfigMap', 'Role', 'RoleBinding', 'ServiceAccount'])

    const some = await helmTemplate([
      'strategies.archived.enabled=true',
      'strategies.unused.enabled=true',
      'strategies.unused.apply=true',
      'strategies.unused.flags={--days,90}',
    ])
    const cron = Object.fromEntries(
      some.filter((o) => o.kind === 'CronJob').map((o) => [o.metadata.labels['app.kubernetes.io/component'], o]),
    )
    expect(Object.keys(cron).sort()).to.deep.equal(['archived', 'unused'])
    expect(argsOf(cron.archived)).to.deep.equal(['archived', 'delete', '--dry-run'])
    expect(argsOf(cron.unused)).to.deep.equal(['unused', 'delete', '--apply', '--force', '--days', '90'])

    const all = await helmTemplate(EVERYTHING_APPLY)
    const cronJobs = all.filter((o) => o.kind === 'CronJob')
    expect(cronJobs).to.have.length(STRATEGIES.length)
    for (const c of cronJobs) {
      expect(c.spec.concurrencyPolicy, c.metadata.name).to.equal('Forbid')
      expect(argsOf(c)).to.include.members(['--apply', '--force'])
      expect(argsOf(c)).not.to.include('--dry-run')
    }

    const gc = all.find((o) => o.kind === 'Job')
    expect(gc?.spec.template.spec.containers[0].args).to.deep.equal(['registry', 'gc'])
  })

  it('mounts the configuration (CONFIG_FILE) with the platform namespace forced, reports on a PVC or an emptyDir', async () => {
    const objects = await helmTemplate([
      'strategies.archived.enabled=true',
      'config.kubernetes.domino_platform_namespace=x',
    ])
    const config = objects.find((o) => o.kind === 'ConfigMap')!
    const {parse} = await import('yaml')
    const file = parse(config.data['drc.config.yaml'])
    expect(file.kubernetes).to.include({
      domino_platform_namespace: 'domino-platform',
      registry_statefulset: 'docker-registry',
    })
    expect(file.analysis.output_dir).to.equal('/data/reports')
    expect(file.registry.url).to.equal('docker-registry:5000')
    const [{spec}] = podSpecs(objects)
    expect(spec.containers[0].env).to.deep.include({name: 'CONFIG_FILE', value: '/etc/drc/drc.config.yaml'})
    expect(spec.volumes.find((v: K8sObject) => v.name === 'reports').persistentVolumeClaim.claimName).to.equal(
      'drc-reports',
    )
    expect(objects.some((o) => o.kind === 'PersistentVolumeClaim')).to.equal(true)

    const ephemeral = await helmTemplate(['strategies.archived.enabled=true', 'reports.persistence.enabled=false'])
    expect(ephemeral.some((o) => o.kind === 'PersistentVolumeClaim')).to.equal(false)
    expect(podSpecs(ephemeral)[0].spec.volumes.find((v: K8sObject) => v.name === 'reports')).to.deep.equal({
      emptyDir: {},
      name: 'reports',
    })
  })

  it('gives every pod spec the restricted securityContext and writable /tmp and reports volumes only', async () => {
    const specs = podSpecs(await helmTemplate(EVERYTHING_APPLY))
    expect(specs).to.have.length(STRATEGIES.length + 1)
    for (const {owner, spec} of specs) {
      expect(spec.securityContext, owner).to.deep.include({
        runAsNonRoot: true,
        seccompProfile: {type: 'RuntimeDefault'},
      })
      for (const c of spec.containers) {
        expect(c.securityContext, owner).to.deep.equal({
          allowPrivilegeEscalation: false,
          capabilities: {drop: ['ALL']},
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          seccompProfile: {type: 'RuntimeDefault'},
        })
        const writable = c.volumeMounts.filter((m: K8sObject) => !m.readOnly).map((m: K8sObject) => m.mountPath)
        expect(writable, owner).to.deep.equal(['/tmp', '/data/reports'])
        expect(c.resources.limits.memory, owner).to.be.a('string')
      }
    }
  })

  it('renders no Secret and no literal credential: every credential is a secretKeyRef to an existing Secret', async () => {
    const sets = [
      ...EVERYTHING_APPLY,
      'secrets.registry.existingSecret=registry-creds',
      'secrets.s3.existingSecret=s3-creds',
      'secrets.mongodb.usernameKey=user',
    ]
    const objects = await helmTemplate(sets)
    expect(objects.map((o) => o.kind)).not.to.include('Secret')
    for (const {owner, spec} of podSpecs(objects)) {
      const {env} = spec.containers[0] as {env: K8sObject[]}
      const names = env.map((e) => e.name)
      expect(names, owner).to.include.members([
        'MONGODB_PASSWORD',
        'KEYCLOAK_PASSWORD',
        'REGISTRY_PASSWORD',
        'AWS_SECRET_ACCESS_KEY',
      ])
      for (const e of env.filter((x) => /PASSWORD|SECRET|USERNAME|ACCESS_KEY/.test(x.name))) {
        expect(e.value, `${owner} ${e.name}`).to.equal(undefined)
        expect(e.valueFrom.secretKeyRef.name, `${owner} ${e.name}`).to.be.a('string')
      }
    }

    // A password in values.config would end up in a ConfigMap: the chart refuses to render it.
    for (const key of ['mongo.password', 'keycloak.password', 'registry.password']) {
      let failure = ''
      try {
        // eslint-disable-next-line no-await-in-loop
        await helmTemplateText([`config.${key}=hunter2-literal`])
      } catch (error) {
        failure = String((error as {stderr?: string}).stderr ?? error)
      }

      expect(failure, key).to.contain(`config.${key}`)
      expect(failure, key).to.contain('existing Secret')
    }
  })

  it('is accepted by the real API server: server-side apply of every object, then a dry-run=All update', async () => {
    const cluster = await testCluster()
    const {endpoint} = cluster
    const namespace = `drc-helm-${randomBytes(4).toString('hex')}`
    await kube(endpoint, 'POST', '/api/v1/namespaces', {metadata: {name: namespace}})
    const objects = await helmTemplate(
      [...EVERYTHING_APPLY, 'secrets.registry.existingSecret=r', 'secrets.s3.existingSecret=s'],
      namespace,
    )
    expect(objects.length).to.be.greaterThan(8)
    for (const o of objects) {
      // eslint-disable-next-line no-await-in-loop
      const stored = await serverSideApply(endpoint, o)
      expect(stored.metadata.uid, objectPath(o)).to.be.a('string')
    }

    // An update the API server validates and authorises, but does not store (what an upgrade would send).
    for (const o of objects) {
      const changed = {...o, metadata: {...o.metadata, labels: {...o.metadata.labels, 'drc.test/dry-run': 'yes'}}}
      // eslint-disable-next-line no-await-in-loop
      const answer = await serverSideApply(endpoint, changed, true)
      expect(answer.metadata.labels['drc.test/dry-run'], objectPath(o)).to.equal('yes')
      // eslint-disable-next-line no-await-in-loop
      const stored = (await kube(endpoint, 'GET', objectPath(o))).body
      expect(stored.metadata.labels['drc.test/dry-run'], objectPath(o)).to.equal(undefined)
    }

    // The API server defaulted and kept what the chart asked for.
    const cron = (await kube(endpoint, 'GET', objectPath(objects.find((o) => o.kind === 'CronJob')!))).body
    expect(cron.spec.concurrencyPolicy).to.equal('Forbid')
    expect(cron.spec.jobTemplate.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem).to.equal(true)
  })
})
