import type {Db} from 'mongodb'

import {expect} from 'chai'
import {randomUUID} from 'node:crypto'
import http from 'node:http'

import type {DeleteDeps} from '../../packages/core/src/lifecycle/execute.js'
import type {PlanItem} from '../../packages/core/src/lifecycle/types.js'

import {deleteItems} from '../../packages/core/src/lifecycle/execute.js'
import {pushImages} from '../fixtures/push-images.js'
import {testClient} from '../registry/helpers.js'
import {forwardRequest} from '../support/fault-proxy.js'
import {freePort} from '../support/ports.js'
import {type RegistryHandle, startRegistry} from '../support/registry.js'

const REPO = 'dominodatalab/environment'
/** The re-check's answer for a tag MongoDB knows (usage present), used or not. */
const known = (inUse: boolean) => ({inUse, reasons: inUse ? ['run 64f0 running'] : [], usage: {sources: []}})

/**
 * deleteItems against a real registry (deletion enabled) with an injected re-check: fast, no MongoDB. These are
 * the rules whose mutations only the slow end-to-end test (or nothing) caught.
 */
describe('lifecycle deleteItems: re-check verdicts and verification (real registry, injected re-check)', function () {
  this.timeout(60_000)
  let registry: RegistryHandle
  let item: PlanItem
  const db = {} as Db

  beforeEach(async () => {
    registry = await startRegistry()
    const tag = `64f0aa${randomUUID().slice(0, 6)}-1`
    const [pushed] = await pushImages(testClient(registry.url), [
      {layers: [{seed: `guards-${randomUUID()}`, size: 256}], repository: REPO, tags: [tag]},
    ])
    item = {digest: pushed.digest, evidence: [], parents: [], repository: REPO, tags: [tag]}
  })

  afterEach(async () => {
    await registry.stop()
  })

  const present = async (url = registry.url) =>
    testClient(url)
      .headManifest(REPO, item.digest)
      .then(
        () => true,
        () => false,
      )
  const deps = (over: Partial<DeleteDeps>): DeleteDeps => ({
    db,
    isInUse: async () => known(false),
    registry: testClient(registry.url),
    rules: {gracePeriodDays: 7, now: new Date()},
    ...over,
  })

  it('the re-check saying "in use" keeps the item (not deleted)', async () => {
    const outcomes = await deleteItems([item], deps({isInUse: async () => known(true)}))
    expect(outcomes.map((o) => o.status)).to.deep.equal(['skipped'])
    expect(outcomes[0].reason).to.match(/^in use: .*run 64f0 running/)
    expect(await present()).to.equal(true)
  })

  it('a tag MongoDB has no record of is kept at the re-check', async () => {
    const outcomes = await deleteItems(
      [item],
      deps({isInUse: async () => ({inUse: false, reasons: [], usage: undefined})}),
    )
    expect(outcomes.map((o) => o.status)).to.deep.equal(['skipped'])
    expect(outcomes[0].reason).to.match(/unknown to MongoDB/)
    expect(await present()).to.equal(true)
  })

  it('second line of defence: in use at planning is never deleted, even when the re-check says unused', async () => {
    const warnings: string[] = []
    const planned = {...item, inUseAtPlan: `${item.tags[0]}: workspace 65aa running`}
    const outcomes = await deleteItems([planned], deps({onWarning: (w) => warnings.push(w)}))
    expect(outcomes.map((o) => o.status)).to.deep.equal(['skipped'])
    expect(outcomes[0].reason).to.match(/^in use at planning: /)
    expect(outcomes[0].verdicts).to.deep.equal({plan: `in use: ${planned.inUseAtPlan}`, recheck: 'unused'})
    expect(warnings.join('\n')).to.match(/re-check disagrees with the plan/)
    expect(await present()).to.equal(true)
  })

  it('records both verdicts of a deleted item (plan unused, re-check unused)', async () => {
    const outcomes = await deleteItems([{...item, inUseAtPlan: null}], deps({}))
    expect(outcomes.map((o) => o.status)).to.deep.equal(['deleted'])
    expect(outcomes[0].verdicts).to.deep.equal({plan: 'unused', recheck: 'unused'})
    expect(await present()).to.equal(false)
  })

  /**
   * A proxy in front of the real registry: after a manifest DELETE passes, the next `failHeads` HEADs of that
   * manifest answer 503. Counts the DELETEs it forwarded.
   */
  async function headFailingProxy(failHeads: number) {
    const upstream = new URL(registry.url)
    const agent = new http.Agent({keepAlive: true})
    const state = {deletes: 0, failing: new Map<string, number>(), injected: 0}
    const server = http.createServer((req, res) => {
      const key = req.url ?? ''
      if (req.method === 'DELETE' && key.includes('/manifests/')) {
        state.deletes++
        state.failing.set(key, failHeads)
      }

      const left = state.failing.get(key) ?? 0
      if (req.method === 'HEAD' && left > 0) {
        state.failing.set(key, left - 1)
        state.injected++
        req.resume()
        res.writeHead(503, {'content-type': 'application/json'})
        res.end()
        return
      }

      forwardRequest(req, res, upstream, {agent})
    })
    const port = await freePort()
    await new Promise<void>((resolve) => {
      server.listen(port, '127.0.0.1', resolve)
    })
    return {
      state,
      async stop() {
        server.closeAllConnections()
        server.close()
        agent.destroy()
      },
      url: `http://127.0.0.1:${port}`,
    }
  }

  const noRetry = {
    exponentialBase: 2,
    initialDelay: 0.01,
    jitter: false,
    maxDelay: 0.01,
    maxRetries: 0,
    timeoutMs: 5000,
  }

  it('an accepted DELETE whose HEAD fails (503) is deleted-unverified, verified later, never deleted again', async () => {
    const proxy = await headFailingProxy(2)
    try {
      const client = testClient(proxy.url, {retry: noRetry})
      const seen: string[] = []
      const outcomes = await deleteItems(
        [item],
        deps({
          onItem: (o) => seen.push(o.status),
          registry: client,
          verify: {attempts: 3, delayMs: 20},
        }),
      )
      // Reported as it happened (unverified), then verified by the later round: deleted.
      expect(seen).to.deep.equal(['deleted-unverified'])
      expect(outcomes.map((o) => o.status)).to.deep.equal(['deleted'])
      expect(outcomes[0].reason).to.match(/verified gone after 2 more HEAD round/)
      expect(proxy.state.deletes).to.equal(1)
      expect(proxy.state.injected).to.equal(2)
      expect(await present()).to.equal(false)
      await client.close()
    } finally {
      await proxy.stop()
    }
  })

  it('stays deleted-unverified (not failed) when no HEAD can verify it, and the DELETE is sent once', async () => {
    const proxy = await headFailingProxy(1000)
    try {
      const client = testClient(proxy.url, {retry: noRetry})
      const outcomes = await deleteItems([item], deps({registry: client, verify: {attempts: 2, delayMs: 10}}))
      expect(outcomes.map((o) => o.status)).to.deep.equal(['deleted-unverified'])
      expect(outcomes[0].reason).to.match(/no HEAD could verify/)
      expect(proxy.state.deletes).to.equal(1)
      expect(await present()).to.equal(false)
      await client.close()
    } finally {
      await proxy.stop()
    }
  })
})
