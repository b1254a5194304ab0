import {expect} from 'chai'
import {MongoClient} from 'mongodb'
import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {loadConfig} from '../../packages/core/src/config/load.js'
import {kubeConfigured} from '../../packages/core/src/kube/configured.js'
import {resolveCredentials} from '../../packages/core/src/registry/credentials.js'
import {kubeSecretReader} from '../../packages/core/src/registry/open.js'
import {pushImages} from '../fixtures/push-images.js'
import {BIN, isolatedOclifEnv, REPO_ROOT} from '../support/cli.js'
import {services} from '../support/harness.js'
import {testClient} from './helpers.js'

const HOOK = path.join(REPO_ROOT, 'test/registry/import-hooks/record.mjs')
const SCAN = path.join(REPO_ROOT, 'test/registry/import-hooks/scan.mjs')
const DB = 'credentials_no_kube'
const REPO = 'nokube'
// Every collection `drc reports` reads; empty is enough: the test is about what gets loaded.
const COLLECTIONS = [
  'environment_revisions',
  'environments_v2',
  'model_versions',
  'models',
  'projects',
  'runs',
  'scheduler_jobs',
  'users',
  'workspace',
  'workspace_session',
]

/** Runs node with the import recorder; returns the exit status, stdout and every module the process loaded. */
function recorded(args: string[], env: Record<string, string>, cwd: string) {
  const file = path.join(mkdtempSync(path.join(cwd, 'run-')), 'loaded.txt')
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(KUBECONFIG|KUBERNETES_|NODE_OPTIONS|REGISTRY_|MONGODB_|DRC_MONGO)/.test(k),
    ),
  )
  const r = spawnSync(process.execPath, ['--import', HOOK, ...args], {
    cwd,
    encoding: 'utf8',
    env: {...clean, DRC_RECORD_IMPORTS: file, FORCE_COLOR: '0', NO_COLOR: '1', ...env},
    timeout: 120_000,
  })
  return {code: r.status, loaded: readFileSync(file, 'utf8').split('\n'), stderr: r.stderr, stdout: r.stdout}
}

const config = async (e: Record<string, string>) => (await loadConfig({cwd: '/nonexistent-drc-cwd', env: e})).config

describe('Kubernetes costs nothing when no cluster is configured (real registry + MongoDB)', () => {
  let dir: string
  let home: string
  let env: Record<string, string>

  before(async function () {
    this.timeout(120_000)
    const {mongo, registry} = services()
    dir = mkdtempSync(path.join(os.tmpdir(), 'drc-nokube-'))
    home = path.join(dir, 'home') // no ~/.kube/config
    mkdirSync(home)
    const client = testClient(registry.url)
    await pushImages(client, [
      {layers: [{seed: 'nokube-1', size: 2048}], repository: `${REPO}/environment`, tags: ['e1', 'e2']},
      {layers: [{seed: 'nokube-2', size: 1024}], repository: `${REPO}/model`, tags: ['m1']},
    ])
    await client.close()
    const m = new MongoClient(mongo.uri)
    await m.connect()
    try {
      const db = m.db(DB)
      await db.dropDatabase()
      for (const c of COLLECTIONS) await db.createCollection(c) // eslint-disable-line no-await-in-loop
    } finally {
      await m.close()
    }

    env = {
      ...isolatedOclifEnv(),
      DRC_MONGO_URI: mongo.uri,
      HOME: home,
      MONGODB_DB: DB,
      OUTPUT_DIR: path.join(dir, 'reports'),
      REGISTRY_URL: registry.url,
      REPOSITORY: REPO,
    }
  })

  after(() => dir && rmSync(dir, {force: true, recursive: true}))

  it('`drc reports --generate-reports --json` never loads @kubernetes/client-node', function () {
    this.timeout(120_000)
    const r = recorded([BIN, 'reports', '--generate-reports', '--json'], env, dir)
    expect(r.code, r.stdout + r.stderr).to.equal(0)
    const result = JSON.parse(r.stdout) as {result: {scan: {tags: number}}; status: number}
    expect(result.status).to.equal(0)
    expect(result.result.scan.tags).to.equal(3)
    // The recorder works: the scan's own modules are in the list.
    expect(r.loaded.some((f) => f.endsWith('/core/dist/registry/client.js'))).to.equal(true)
    expect(r.loaded.filter((f) => f.includes('@kubernetes/client-node'))).to.deep.equal([])
  })

  it('the scan path alone loads no Kubernetes module at all (the secret lookup is skipped)', function () {
    this.timeout(120_000)
    const r = recorded([SCAN], env, dir)
    expect(r.code, r.stdout + r.stderr).to.equal(0)
    expect(JSON.parse(r.stdout)).to.deep.equal({images: 2, tags: 3})
    expect(r.loaded.some((f) => f.endsWith('/core/dist/reports/obtain.js'))).to.equal(true)
    expect(r.loaded.filter((f) => f.includes('@kubernetes/') || f.includes('/core/dist/kube/client.js'))).to.deep.equal(
      [],
    )
  })

  it('counts a cluster as configured by in-cluster env + token, kubernetes.kubeconfig / KUBECONFIG, or ~/.kube/config', async () => {
    const saved = process.env.HOME
    try {
      process.env.HOME = home
      expect(kubeConfigured(await config({}), {})).to.equal(false)
      // The service-account token file does not exist on this machine: the env alone is not a cluster.
      const podEnv = {KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443'}
      expect(kubeConfigured(await config({}), podEnv)).to.equal(false)
      expect(kubeConfigured(await config({KUBECONFIG: '/nonexistent/kubeconfig'}), {})).to.equal(true)
      mkdirSync(path.join(home, '.kube'), {recursive: true})
      writeFileSync(path.join(home, '.kube', 'config'), 'apiVersion: v1\nkind: Config\n')
      expect(kubeConfigured(await config({}), {})).to.equal(true)
    } finally {
      process.env.HOME = saved
      rmSync(path.join(home, '.kube'), {force: true, recursive: true})
    }
  })

  it('with a kubeconfig configured, registry credentials still come from the domino-registry secret', async () => {
    const {kube, registry} = services()
    const {config} = await loadConfig({cwd: dir, env: {KUBECONFIG: kube.kubeconfig, REGISTRY_URL: registry.url}})
    const source = await resolveCredentials(config, {readSecret: kubeSecretReader(config, 10_000, {})})
    expect(source.describe).to.equal(`secret ${kube.namespace}/domino-registry`)
    expect((await source.get())?.username)
      .to.be.a('string')
      .and.not.equal('')
  })
})
