import {runCommand} from '@oclif/test'
import {expect} from 'chai'
import {mkdtempSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

import type {HealthCommandResult} from '../../src/commands/health.js'
import type {ServiceSettings} from '../support/harness.js'

import {REQUIRED_COLLECTIONS} from '../../packages/core/src/health/checks/mongodb.js'
import {
  createDominoCollections,
  deadPort,
  healthyEnv,
  pushImage,
  stopOwnServices,
  testServices,
  uniqueRepo,
} from '../health/helpers.js'
import {runCli} from '../support/cli.js'

/** Sets environment variables for an in-process command run and restores them afterwards. */
async function withEnv<T>(env: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]))
  for (const [k, v] of Object.entries(env))
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  try {
    return await fn()
  } finally {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
  }
}

/** Runs `drc <args>` in this process; returns the output and the exit code the command set. */
async function drc(args: string[], env: Record<string, string | undefined>) {
  const before = process.exitCode
  process.exitCode = undefined
  try {
    const out = await withEnv(env, () => runCommand<HealthCommandResult>(args))
    return {...out, exitCode: process.exitCode ?? 0}
  } finally {
    process.exitCode = before
  }
}

function statuses(result: HealthCommandResult): Record<string, string> {
  return Object.fromEntries(result.results.map((r) => [r.name, r.status]))
}

describe('drc health', function () {
  this.timeout(180_000)
  let s: ServiceSettings
  let env: Record<string, string | undefined>

  before(async () => {
    s = await testServices()
    const repo = uniqueRepo('cmd')
    const database = `health_${repo.replaceAll('-', '_')}`
    await Promise.all([
      pushImage(s.registry.url, `${repo}/environment`, '5f0000000000000000000001-1'),
      createDominoCollections(s.mongo.uri, database, REQUIRED_COLLECTIONS),
    ])
    // CONFIG_FILE unset and a HOME without ~/.kube: the test's environment is the whole configuration.
    env = {...healthyEnv(s, repo, database), CONFIG_FILE: undefined, HOME: '/nonexistent-drc-home'}
  })

  after(stopOwnServices)

  it('--json reports every check healthy and exits 0', async () => {
    const {exitCode, result} = await drc(['health', '--json'], env)
    expect(result?.healthy, JSON.stringify(result?.results.filter((r) => r.status !== 'healthy'))).to.equal(true)
    expect(statuses(result!)).to.deep.equal({
      configuration: 'healthy',
      kubernetes: 'healthy',
      mongodb: 'healthy',
      registry: 'healthy',
      registry_lock: 'healthy',
      registry_rbac: 'healthy',
      s3: 'healthy',
      ...(s.keycloak ? {keycloak: 'healthy'} : {}),
    })
    expect(exitCode).to.equal(0)
  })

  it('turns exactly the MongoDB check unhealthy on a wrong port, with exit code 3', async () => {
    const port = await deadPort()
    const {exitCode, result} = await drc(['health', '--json', '--timeout', '5'], {
      ...env,
      DRC_MONGO_URI: `mongodb://127.0.0.1:${port}/?serverSelectionTimeoutMS=1000`,
    })
    const unhealthy = result!.results.filter((r) => r.status === 'unhealthy')
    expect(unhealthy.map((r) => r.name)).to.deep.equal(['mongodb'])
    expect(unhealthy[0].message).to.include(`127.0.0.1:${port}`)
    expect(result?.healthy).to.equal(false)
    expect(exitCode).to.equal(3)
  })

  it('prints a table and the summary line, and exits 3 for a missing bucket', async () => {
    const {exitCode, stdout} = await drc(['health'], {...env, S3_BUCKET: 'no-such-bucket-drc'})
    expect(stdout).to.match(/^CHECK\s+STATUS\s+MESSAGE$/m)
    expect(stdout).to.match(/^registry\s+✓ healthy\s+Successfully connected/m)
    expect(stdout).to.match(/^s3\s+✗ unhealthy\s+S3 bucket no-such-bucket-drc does not exist/m)
    expect(stdout).to.match(/Some health checks failed - please review the issues above \(s3\)/)
    expect(exitCode).to.equal(3)
  })

  it('reports a bad configuration as the configuration check instead of crashing', async () => {
    const {error, exitCode, result} = await drc(['health', '--json', '--check', 'configuration'], {
      ...env,
      REPOSITORY: 'bad repo!',
    })
    expect(error).to.equal(undefined)
    expect(result?.results).to.have.length(1)
    expect(result?.results[0]).to.include({name: 'configuration', status: 'unhealthy'})
    expect(result?.results[0].message).to.match(/registry\.repository/)
    expect(exitCode).to.equal(3)
  })

  it('--skip-optional leaves out Kubernetes and RBAC but keeps a configured S3 and the registry lock', async () => {
    const {result} = await drc(['health', '--json', '--skip-optional'], {...env, KEYCLOAK_URL: undefined})
    expect(Object.keys(statuses(result!))).to.deep.equal([
      'configuration',
      'registry',
      'mongodb',
      'registry_lock',
      's3',
    ])
  })

  it('maps --registry-url, --repository and --namespace onto the configuration', async () => {
    const deadUrl = `http://127.0.0.1:${await deadPort()}`
    const viaUrl = await drc(['health', '--json', '--check', 'registry', '--registry-url', deadUrl], env)
    expect(viaUrl.result?.results[0].message).to.include(`Cannot reach registry ${deadUrl}`)
    const viaRepo = await drc(['health', '--json', '--check', 'registry', '--repository', uniqueRepo('none')], env)
    expect(viaRepo.result?.results[0].message).to.match(/0 tags/)
    const viaNs = await drc(['health', '--json', '--check', 'kubernetes', '--namespace', 'not-there'], env)
    expect(viaNs.result?.results[0].message).to.match(/Cannot read namespace not-there .*HTTP 404/)
    expect(viaNs.exitCode).to.equal(3)
  })

  it('runs as the health_check alias from the built binary and exits 3 when the S3 endpoint is down', async () => {
    const r = runCli(['health_check', '--json'], {
      env: {...env, DRC_S3_ENDPOINT: `http://127.0.0.1:${await deadPort()}`},
    })
    expect(r.code, r.stderr).to.equal(3)
    const {result} = r.json() as {result: HealthCommandResult}
    expect(result.results.filter((x) => x.status === 'unhealthy').map((x) => x.name)).to.deep.equal(['s3'])
    expect(r.stderr).not.to.match(/NodeVersionSupportWarning/)
  })

  it('exits soon after the timeout when the Kubernetes API accepts connections but never answers', async () => {
    const hole = net.createServer(() => {})
    await new Promise<void>((resolve) => {
      hole.listen(0, '127.0.0.1', resolve)
    })
    try {
      const {port} = hole.address() as net.AddressInfo
      const kubeconfig = path.join(mkdtempSync(path.join(os.tmpdir(), 'drc-hole-')), 'kubeconfig')
      writeFileSync(
        kubeconfig,
        [
          'apiVersion: v1',
          'kind: Config',
          `clusters: [{name: hole, cluster: {server: 'http://127.0.0.1:${port}', insecure-skip-tls-verify: true}}]`,
          'contexts: [{name: hole, context: {cluster: hole, user: u}}]',
          'current-context: hole',
          'users: [{name: u, user: {token: x}}]',
        ].join('\n'),
      )
      const started = Date.now()
      const r = runCli(['health', '--check', 'kubernetes', '--timeout', '1'], {
        env: {...env, KUBECONFIG: kubeconfig},
        timeout: 20_000,
      })
      expect(r.code, r.stderr).to.equal(3)
      expect(r.stdout).to.match(/kubernetes check did not finish within 1 s/)
      // Node start-up plus the 1 s deadline; a request left hanging would keep the process alive until the 20 s kill.
      expect(Date.now() - started).to.be.below(8000)
    } finally {
      hole.close()
    }
  })
})
