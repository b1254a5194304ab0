import {expect} from 'chai'
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'

import type {DrcConfig} from '../../packages/core/src/config/types.js'

import {analyseRegistry} from '../../packages/core/src/analysis/service.js'
import {AnalysisStalledError, withStallTimeout} from '../../packages/core/src/analysis/stall.js'
import {loadConfig} from '../../packages/core/src/config/load.js'
import {obtainImageAnalysis} from '../../packages/core/src/reports/obtain.js'
import {pushImages} from '../fixtures/push-images.js'
import {testClient} from '../registry/helpers.js'
import {forwardRequest} from '../support/fault-proxy.js'
import {services} from '../support/harness.js'
import {freePort} from '../support/ports.js'

/** Unique per run: the shared harness registry is reused across runs and tests. */
const PREFIX = `stall${Date.now().toString(36)}`
const REPO = `${PREFIX}/environment`

interface SlowProxy {
  /** Manifest requests answered so far. */
  manifests: number
  options: {delayMs: number; hangAfterManifests?: number}
  stop(): Promise<void>
  url: string
}

/**
 * A proxy in front of the real registry that delays each manifest request, or stops answering manifest requests
 * after a number of them (the socket stays open: a hung registry, not a dead one).
 */
async function startSlowProxy(target: string, options: SlowProxy['options']): Promise<SlowProxy> {
  const upstream = new URL(target)
  const port = await freePort()
  const held = new Set<http.ServerResponse>()
  const server = http.createServer((req, res) => {
    const isManifest = req.url?.includes('/manifests/') ?? false
    if (isManifest) {
      const {hangAfterManifests} = proxy.options
      if (hangAfterManifests !== undefined && proxy.manifests >= hangAfterManifests) {
        held.add(res)
        return
      }

      proxy.manifests++
    }

    const forward = () => forwardRequest(req, res, upstream)

    if (isManifest && proxy.options.delayMs > 0) setTimeout(forward, proxy.options.delayMs)
    else forward()
  })
  await new Promise<void>((resolve) => {
    server.listen(port, '127.0.0.1', resolve)
  })
  const proxy: SlowProxy = {
    manifests: 0,
    options,
    async stop() {
      for (const r of held) r.destroy()
      server.closeAllConnections()
      await new Promise((resolve) => {
        server.close(resolve)
      })
    },
    url: `http://127.0.0.1:${port}`,
  }
  return proxy
}

describe('analysis.timeout: a stall deadline, not a whole-scan deadline', () => {
  let dir: string
  let proxy: SlowProxy | undefined

  before(async () => {
    const client = testClient(services().registry.url)
    await pushImages(
      client,
      Array.from({length: 6}, (_, i) => ({
        layers: [
          {seed: 'stall-base', size: 256},
          {seed: `stall-${i}`, size: 32},
        ],
        repository: REPO,
        tags: [`t${i}`],
      })),
    )
    await client.close()
  })

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'drc-stall-'))
  })

  afterEach(async () => {
    await proxy?.stop()
    proxy = undefined
    rmSync(dir, {force: true, recursive: true})
  })

  async function configFor(url: string): Promise<DrcConfig> {
    const {config} = await loadConfig({cwd: dir, env: {OUTPUT_DIR: dir}})
    config.registry.url = url
    config.registry.repository = PREFIX
    config.registry.scan_repositories = [REPO]
    config.analysis.timeout = 1
    config.analysis.max_workers = 1
    config.retry.max_retries = 0
    config.cache.enabled = false
    return config
  }

  it('lets every in-flight request listen on the scan signal without a MaxListeners warning', async () => {
    const warnings: string[] = []
    const onWarning = (w: Error) => warnings.push(w.name)
    process.on('warning', onWarning)
    try {
      await withStallTimeout(
        10_000,
        () => '',
        async (signal) => {
          // 32 concurrent requests each add an abort listener, as undici does.
          for (let i = 0; i < 32; i++) signal.addEventListener('abort', () => {})
        },
      )
      await new Promise((resolve) => {
        setImmediate(resolve)
      })
    } finally {
      process.off('warning', onWarning)
    }

    expect(warnings).to.not.include('MaxListenersExceededWarning')
  })

  it('a slow but steady scan that takes longer than the timeout completes', async () => {
    proxy = await startSlowProxy(services().registry.url, {delayMs: 400})
    const t0 = Date.now()
    const run = await analyseRegistry(await configFor(proxy.url), {cacheDir: null})
    // 6 manifests at 400 ms, one at a time: well over the 1 s timeout in total, but never 1 s without progress.
    expect(Date.now() - t0).to.be.greaterThan(2000)
    expect(run.stats.tags).to.equal(6)
    expect(run.graph.imageSizes()).to.have.length(6)
  })

  it('a hung registry is abandoned after analysis.timeout, naming how far the scan got, and no report is written', async () => {
    proxy = await startSlowProxy(services().registry.url, {delayMs: 0, hangAfterManifests: 2})
    const config = await configFor(proxy.url)
    const t0 = Date.now()
    let error: unknown
    try {
      await obtainImageAnalysis(config, {generate: true, maxAgeHours: 24, quiet: true})
    } catch (error_) {
      error = error_
    }

    const elapsed = Date.now() - t0
    expect(error).to.be.instanceOf(AnalysisStalledError)
    expect((error as Error).message).to.include('no progress for 1 s (analysis.timeout)')
    expect((error as Error).message).to.include('2 of 6 listed tags were scanned')
    // Aborted at the deadline, not after retry.timeout (300 s) per hung request.
    expect(elapsed).to.be.lessThan(5000)
    expect(readdirSync(dir).filter((f) => f.startsWith('image-analysis'))).to.deep.equal([])
  })
})
