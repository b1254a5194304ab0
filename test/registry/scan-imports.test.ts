import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {stageInstalledCli} from '../../scripts/manifest.js'
import {pushImages} from '../fixtures/push-images.js'
import {isolatedOclifEnv, REPO_ROOT} from '../support/cli.js'
import {services} from '../support/harness.js'
import {testClient} from './helpers.js'

const HOOK = path.join(REPO_ROOT, 'test/registry/import-hooks/record.mjs')
const REPO = 'scanimports'
// Modules of other paths (progress renderer, MongoDB, S3/ECR, Kubernetes) and the parts of undici drc does not use
// (fetch, WebSocket, EventSource, cookies, mocks, caches) that a --json scan must not pay for.
const FOREIGN = [
  '/listr2/',
  '/mongodb/',
  '/@aws-sdk/',
  '/@kubernetes/',
  '/core/dist/kube/client.js',
  '/undici/index.js',
  '/undici/lib/web/',
  '/undici/lib/mock/',
]

// The per-process cost of the scan bench (npm run bench -- --only 'registry scan'): what one scan loads.
describe('a --json scan of the installed CLI loads its own command and the scan path only', function () {
  this.timeout(120_000)
  let dir: string
  let bin: string
  let env: Record<string, string>

  before(async () => {
    const {registry} = services()
    dir = mkdtempSync(path.join(os.tmpdir(), 'drc-scan-imports-'))
    mkdirSync(path.join(dir, 'home')) // no ~/.kube/config
    bin = stageInstalledCli(REPO_ROOT, path.join(dir, 'cli'))
    const client = testClient(registry.url)
    await pushImages(client, [
      {layers: [{seed: 'scan-imports', size: 1024}], repository: `${REPO}/environment`, tags: ['e1', 'e2']},
    ])
    await client.close()
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !/^(KUBECONFIG|KUBERNETES_|NODE_OPTIONS|REGISTRY_|OUTPUT_DIR)/.test(k),
      ),
    ) as Record<string, string>
    env = {
      ...clean,
      ...isolatedOclifEnv(),
      FORCE_COLOR: '0',
      HOME: path.join(dir, 'home'),
      NO_COLOR: '1',
      OUTPUT_DIR: path.join(dir, 'reports'),
      REGISTRY_URL: registry.url,
      REPOSITORY: REPO,
    }
  })

  after(() => dir && rmSync(dir, {force: true, recursive: true}))

  it('drc report image-size --generate-reports --json: one command file; no listr2, MongoDB, AWS, Kubernetes, fetch', () => {
    const file = path.join(dir, `loaded-${Date.now()}.txt`)
    const r = spawnSync(
      process.execPath,
      ['--import', HOOK, bin, 'report', 'image-size', '--generate-reports', '--json', '--limit', '0'],
      {cwd: dir, encoding: 'utf8', env: {...env, DRC_RECORD_IMPORTS: file}, timeout: 60_000},
    )
    expect(r.status, r.stdout + r.stderr).to.equal(0)
    expect((JSON.parse(r.stdout) as {result: {images: unknown[]}}).result.images).to.have.length(1)
    const loaded = readFileSync(file, 'utf8').split('\n')
    // The recorder works: the scan's own modules are in the list.
    expect(loaded.some((f) => f.endsWith('/core/dist/registry/transport.js'))).to.equal(true)
    // With the manifest oclif imports the command it runs, not every command file to list them.
    const commands = loaded.filter((f) => /\/dist\/commands\/.+\.js$/.test(f) && !f.includes('/node_modules/'))
    expect(new Set(commands.map((f) => f.replace(/^.*\/dist\/commands\//, '')))).to.deep.equal(
      new Set(['report/image-size.js']),
    )
    expect(loaded.filter((f) => FOREIGN.some((m) => f.includes(m)))).to.deep.equal([])
  })
})
