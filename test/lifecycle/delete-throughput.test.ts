import {expect} from 'chai'
import {type Db, MongoClient, ObjectId} from 'mongodb'
import {randomUUID} from 'node:crypto'
import {setTimeout as delay} from 'node:timers/promises'

import type {RegistryClient} from '../../packages/core/src/registry/client.js'
import type {UsageRules} from '../../packages/core/src/usage/types.js'

import {type DeleteDeps, deleteItems, RecheckFailedError} from '../../packages/core/src/lifecycle/execute.js'
import {type PlanItem} from '../../packages/core/src/lifecycle/types.js'
import {areInUse, isInUse} from '../../packages/core/src/usage/live.js'
import {archivedDeletionDataset, seedMongo} from '../fixtures/index.js'
import {pushImages} from '../fixtures/push-images.js'
import {testClient} from '../registry/helpers.js'
import {services} from '../support/harness.js'
import {type RegistryHandle, startRegistry} from '../support/registry.js'
import {ENV_REPO, oldId, seedDocs} from './world.js'

const N = 40
const o = (h: string) => ObjectId.createFromHexString(h)

/** A registry client that counts calls and the DELETEs in flight at once. */
function counting(client: RegistryClient) {
  const c = {deletes: 0, heads: 0, inFlight: 0, lists: 0, maxInFlight: 0, onDelete(_n: number) {}}
  const wrapped = Object.create(client) as RegistryClient
  wrapped.listTags = async (r, p) => {
    c.lists++
    return client.listTags(r, p)
  }

  wrapped.headManifest = async (r, ref) => {
    c.heads++
    return client.headManifest(r, ref)
  }

  wrapped.deleteManifest = async (r, d) => {
    c.deletes++
    c.onDelete(c.deletes)
    c.inFlight++
    c.maxInFlight = Math.max(c.maxInFlight, c.inFlight)
    try {
      await new Promise((resolve) => {
        setTimeout(resolve, 15)
      })
      return await client.deleteManifest(r, d)
    } finally {
      c.inFlight--
    }
  }

  return {c, registry: wrapped}
}

describe('lifecycle delete throughput (issue 11 part 8)', () => {
  /**
   * Delete throughput without giving up safety (issue 11 part 8): batched live re-checks right before each small
   * batch, one tag listing per repository per batch, bounded concurrency; real registry and FerretDB.
   */
  describe('lifecycle deleteItems: batches, bounded concurrency, fresh checks (real registry + FerretDB)', function () {
    this.timeout(180_000)
    const rules: UsageRules = {gracePeriodDays: 7, now: new Date()}
    let registry: RegistryHandle
    let mongo: MongoClient
    let db: Db
    let envs: string[]
    let items: PlanItem[]

    beforeEach(async () => {
      envs = Array.from({length: N}, () => oldId())
      const name = `lifecycle_throughput_${randomUUID().slice(0, 8)}`
      const revs = envs.map(() => oldId())
      await seedDocs(name, {
        environment_revisions: envs.map((e, i) => ({
          _id: o(revs[i]),
          environmentId: o(e),
          metadata: {dockerImageName: {repository: ENV_REPO, tag: `${e}-1`}, isBuilt: true},
        })),
        environments_v2: envs.map((e, i) => ({_id: o(e), activeRevisionId: o(revs[i]), isArchived: true, name: e})),
      })
      mongo = await MongoClient.connect(services().mongo.uri)
      db = mongo.db(name)
      registry = await startRegistry()
      const pushed = await pushImages(
        testClient(registry.url),
        envs.map((e) => ({layers: [{seed: `t-${e}`, size: 128}], repository: ENV_REPO, tags: [`${e}-1`]})),
      )
      items = pushed.map((p) => ({digest: p.digest, evidence: [], parents: [], repository: ENV_REPO, tags: p.tags}))
    })

    afterEach(async () => {
      await mongo.close()
      await registry.stop()
    })

    const deps = (registryClient: RegistryClient, extra: Partial<DeleteDeps> = {}): DeleteDeps => ({
      areInUse,
      batchSize: 10,
      concurrency: 4,
      db,
      isInUse,
      plannedTags: new Map([[ENV_REPO, new Set(items.flatMap((i) => i.tags))]]),
      registry: registryClient,
      rules,
      ...extra,
    })

    it('one re-check and one tag listing per batch, at most `concurrency` DELETEs at once; usage found at the re-check keeps its item', async () => {
      // Since planning, a project started using environment 25: its item must stay.
      await db.collection('projects').insertOne({
        _id: new ObjectId(),
        isArchived: false,
        name: 'late',
        overrideV2EnvironmentId: ObjectId.createFromHexString(envs[25]),
      })
      const {c, registry: client} = counting(testClient(registry.url))
      const batches: number[] = []
      const outcomes = await deleteItems(
        items,
        deps(client, {
          async areInUse(d, refs, r) {
            batches.push(refs.length)
            return areInUse(d, refs, r)
          },
        }),
      )
      expect(batches).to.deep.equal([10, 10, 10, 10])
      expect(c.lists).to.equal(4)
      expect(c.maxInFlight).to.equal(4)
      // Per item at most a HEAD of its tag (digest guard) and one of its digest (verification): no listing per item.
      expect(c.heads).to.be.at.most(2 * N)
      expect(outcomes.map((o) => o.tags[0])).to.deep.equal(items.map((i) => i.tags[0]))
      const kept = outcomes.filter((o) => o.status !== 'deleted')
      expect(kept.map((o) => o.tags[0])).to.deep.equal([`${envs[25]}-1`])
      expect(kept[0].reason).to.match(/^in use: /)
      expect(c.deletes).to.equal(N - 1)
    })

    it('checks older than maxCheckAgeMs are read again for the item alone (check and DELETE stay close)', async () => {
      const {c, registry: client} = counting(testClient(registry.url))
      const calls: number[] = []
      const outcomes = await deleteItems(
        items.slice(0, 8),
        deps(client, {
          async areInUse(d, refs, r) {
            calls.push(refs.length)
            return areInUse(d, refs, r)
          },
          maxCheckAgeMs: -1,
        }),
      )
      expect(outcomes.every((o) => o.status === 'deleted')).to.equal(true)
      expect(calls).to.deep.equal([8, 1, 1, 1, 1, 1, 1, 1, 1])
      expect(c.lists).to.equal(9)
    })

    it('the age of checks counts from the start of their read: a slow batch read is not taken as fresh', async () => {
      const {registry: client} = counting(testClient(registry.url))
      const calls: number[] = []
      const outcomes = await deleteItems(
        items.slice(8, 12),
        deps(client, {
          async areInUse(d, refs, r) {
            calls.push(refs.length)
            // The batch read takes longer than maxCheckAgeMs: what it saw is already too old when it returns.
            if (refs.length > 1) await delay(400)
            return areInUse(d, refs, r)
          },
          maxCheckAgeMs: 250,
        }),
      )
      expect(outcomes.every((o) => o.status === 'deleted')).to.equal(true)
      expect(calls).to.deep.equal([4, 1, 1, 1, 1])
    })

    it('a signal stops between items: nothing is sent a DELETE after it, the rest is skipped as cancelled', async () => {
      const {c, registry: client} = counting(testClient(registry.url))
      const abort = new AbortController()
      c.onDelete = (n) => {
        if (n === 12) abort.abort()
      }

      const outcomes = await deleteItems(items, deps(client, {signal: abort.signal}))
      const deleted = outcomes.filter((o) => o.status === 'deleted').length
      // The DELETEs already in flight when it came finish; no new one starts.
      expect(c.deletes).to.equal(deleted)
      expect(deleted).to.be.within(12, 15)
      const cancelled = outcomes.filter((o) => o.reason === 'cancelled before it was deleted')
      expect(cancelled.length).to.equal(N - deleted)
    })

    it('a failed batched re-check stops everything: that batch and the rest are not deleted', async () => {
      const {c, registry: client} = counting(testClient(registry.url))
      let n = 0
      const error = await deleteItems(
        items,
        deps(client, {
          async areInUse(d, refs, r) {
            if (++n === 2) throw new Error('MongoDB went away')
            return areInUse(d, refs, r)
          },
        }),
      ).then(
        () => null,
        (error_: unknown) => error_,
      )
      expect(error).to.be.instanceOf(RecheckFailedError)
      expect(c.deletes).to.equal(10)
      const {outcomes} = error as RecheckFailedError & {outcomes: Array<{reason?: string; status: string}>}
      expect(outcomes.filter((o) => o.status === 'deleted')).to.have.length(10)
      expect(outcomes.filter((o) => o.status === 'failed')).to.have.length(1)
    })
  })

  describe('usage areInUse: the batched re-check says what isInUse says, image by image (FerretDB)', function () {
    this.timeout(120_000)

    it('over every environment and model tag of a generated Domino dataset', async () => {
      // The archived plugin's delete test dataset (its legacy id shapes once fooled a per-image lookup).
      const dataset = archivedDeletionDataset()
      const name = `lifecycle_areinuse_${randomUUID().slice(0, 8)}`
      await seedMongo(services().mongo.uri, name, dataset)
      const client = await MongoClient.connect(services().mongo.uri)
      try {
        const db = client.db(name)
        const rules = {gracePeriodDays: 7, now: new Date(), unusedSinceDays: 30}
        const refs = dataset.images.flatMap((i) =>
          i.tags.map((t) => `${i.repository.endsWith('/model') ? 'model' : 'environment'}:${t}`),
        )
        const batched = await areInUse(db, refs, rules)
        const single = await Promise.all(refs.map((r) => isInUse(db, r, rules)))
        const view = (v: {inUse: boolean; reasons: string[]; usage?: unknown}) => ({
          inUse: v.inUse,
          known: Boolean(v.usage),
          reasons: v.reasons,
        })
        expect(batched.some((v) => v.inUse) && batched.some((v) => !v.inUse)).to.equal(true)
        expect(batched.map((v) => view(v))).to.deep.equal(single.map((v) => view(v)))
      } finally {
        await client.close()
      }
    })
  })
})
