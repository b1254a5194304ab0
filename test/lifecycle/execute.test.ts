import {expect} from 'chai'
import {type Db, MongoClient} from 'mongodb'
import {randomUUID} from 'node:crypto'

import type {PlanItem} from '../../packages/core/src/lifecycle/types.js'

import {deleteItems, RecheckFailedError} from '../../packages/core/src/lifecycle/execute.js'
import {buildUsageGraph} from '../../packages/core/src/usage/build.js'
import {isInUse} from '../../packages/core/src/usage/live.js'
import {generateDataset, seedMongo} from '../fixtures/index.js'
import {pushImages} from '../fixtures/push-images.js'
import {testClient} from '../registry/helpers.js'
import {services} from '../support/harness.js'
import {type RegistryHandle, startRegistry} from '../support/registry.js'

const REPO = 'dominodatalab/environment'
const layer = (seed: string) => [{seed: `${seed}-${randomUUID()}`, size: 256}]

/** The per-item delete step against a real registry (deletion enabled) and FerretDB. */
describe('lifecycle deleteItems: re-check fails closed, digest guard (real registry + FerretDB)', function () {
  this.timeout(120_000)
  const dataset = generateDataset({
    environments: 6,
    layerScale: 0.1,
    models: 1,
    now: new Date(),
    revisionsPerEnvironment: 2,
    runs: 10,
    seed: 3,
    users: 2,
    versionsPerModel: 1,
  })
  const rules = {gracePeriodDays: 7, now: new Date(), unusedSinceDays: 0}
  let registry: RegistryHandle
  let mongo: MongoClient
  let db: Db
  let items: PlanItem[]

  beforeEach(async () => {
    registry = await startRegistry()
    mongo = await MongoClient.connect(services().mongo.uri)
    const name = `lifecycle_execute_${randomUUID().slice(0, 8)}`
    await seedMongo(services().mongo.uri, name, dataset)
    db = mongo.db(name)
    const graph = await buildUsageGraph(db, {now: rules.now})
    // Two single-tag images the usage graph calls unused: they would be deleted if nothing stopped it.
    const specs = dataset.images
      .filter((i) => i.repository === REPO && !i.platforms && i.tags.length === 1)
      .filter((i) => !graph.evaluate('environment', i.tags[0], rules).inUse)
      .slice(0, 2)
    expect(specs.length).to.equal(2)
    const pushed = await pushImages(testClient(registry.url), specs)
    items = pushed.map((p) => ({digest: p.digest, evidence: [], parents: [], repository: REPO, tags: p.tags}))
  })

  afterEach(async () => {
    await mongo.close()
    await registry.stop()
  })

  const present = async (item: PlanItem) =>
    testClient(registry.url)
      .headManifest(REPO, item.digest)
      .then(
        () => true,
        () => false,
      )

  it('deletes unused items and verifies they are gone (the control case)', async () => {
    const outcomes = await deleteItems(items, {db, isInUse, registry: testClient(registry.url), rules})
    expect(outcomes.map((o) => o.status)).to.deep.equal(['deleted', 'deleted'])
    expect(await Promise.all(items.map((i) => present(i)))).to.deep.equal([false, false])
  })

  it('invariant 3: a usage source that cannot be read stops everything, nothing is deleted', async () => {
    await db.collection('workspace_session').drop()
    const error = await deleteItems(items, {db, isInUse, registry: testClient(registry.url), rules}).then(
      () => null,
      (error_: unknown) => error_,
    )
    expect(error).to.be.instanceOf(RecheckFailedError)
    expect((error as Error).message).to.match(/workspace_session/)
    const {outcomes} = error as {outcomes: Array<{reason: string; status: string}>}
    expect(outcomes.map((o) => o.status)).to.deep.equal(['failed', 'skipped'])
    expect(outcomes[1].reason).to.match(/re-check failed/)
    expect(await Promise.all(items.map((i) => present(i)))).to.deep.equal([true, true])
  })

  it('deletes an index before its children; children of an index that may not go stay', async () => {
    const [first] = items
    const [multi] = await pushImages(testClient(registry.url), [
      {
        layers: layer('unused'),
        platforms: [
          {architecture: 'amd64', layers: layer('amd64'), os: 'linux'},
          {architecture: 'arm64', layers: layer('arm64'), os: 'linux'},
        ],
        repository: REPO,
        tags: first.tags,
      },
    ])
    const parent = `${REPO}@${multi.digest}`
    const plan: PlanItem[] = [
      {digest: multi.digest, evidence: [], parents: [], repository: REPO, tags: first.tags},
      ...multi.children.map((c) => ({digest: c, evidence: [], parents: [parent], repository: REPO, tags: []})),
    ]
    const deps = {db, isInUse, registry: testClient(registry.url), rules}

    const blocked = await deleteItems(plan, {...deps, notAllowed: new Map([[parent, 'backup failed: test']])})
    expect(blocked.map((o) => o.status)).to.deep.equal(['failed', 'skipped', 'skipped'])
    expect(blocked[1].reason).to.equal('an index listing it was not deleted')
    expect(await Promise.all(plan.map((i) => present(i)))).to.deep.equal([true, true, true])

    const done = await deleteItems(plan, deps)
    expect(done.map((o) => `${o.status} ${o.digest}`)).to.deep.equal(plan.map((i) => `deleted ${i.digest}`))
    expect(await Promise.all(plan.map((i) => present(i)))).to.deep.equal([false, false, false])
  })

  it('the digest guard keeps an item whose tag was pushed again since planning', async () => {
    const [first] = items
    const [again] = await pushImages(testClient(registry.url), [
      {layers: [{seed: `repushed-${randomUUID()}`, size: 512}], repository: REPO, tags: first.tags},
    ])
    const outcomes = await deleteItems([first], {db, isInUse, registry: testClient(registry.url), rules})
    expect(outcomes[0].status).to.equal('skipped')
    expect(outcomes[0].reason).to.equal(`digest changed since planning: ${first.tags[0]} now points at ${again.digest}`)
    expect(await present(first)).to.equal(true)
  })

  it('keeps an item when a tag pushed since planning points at its digest (deleting it would delete that tag)', async () => {
    const [first] = items
    const plannedTags = new Map([[REPO, new Set(items.flatMap((i) => i.tags))]])
    const client = testClient(registry.url)
    const manifest = await client.getManifest(REPO, first.digest)
    await client.putManifest(REPO, 'pushed-later', manifest.body, manifest.mediaType)
    const outcomes = await deleteItems([first], {db, isInUse, plannedTags, registry: client, rules})
    expect(outcomes[0].status).to.equal('skipped')
    expect(outcomes[0].reason).to.equal('tag pushed-later, pushed since planning, points at this digest')
    expect(await present(first)).to.equal(true)
  })
})
