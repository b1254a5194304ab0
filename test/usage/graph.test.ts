import {expect} from 'chai'
import {type Db, MongoClient} from 'mongodb'

import type {UsageGraph} from '../../packages/core/src/usage/graph.js'
import type {SourceKind, UsageRules} from '../../packages/core/src/usage/types.js'

import {buildUsageGraph} from '../../packages/core/src/usage/build.js'
import {isInUse} from '../../packages/core/src/usage/live.js'
import {graphFromReport, type UsageReport, usageReport} from '../../packages/core/src/usage/report.js'
import {factsOf, generateDataset} from '../fixtures/dataset.js'
import {seedMongo} from '../fixtures/seed-mongo.js'
import {services} from '../support/harness.js'

const NOW = new Date('2026-03-01T12:00:00Z')
const DB = 'usage_graph_test'
const DAY = 86_400_000

describe('usage graph against FerretDB with the fixture dataset', function () {
  this.timeout(120_000)
  const dataset = generateDataset({
    environments: 40,
    models: 8,
    now: NOW,
    revisionsPerEnvironment: 3,
    runs: 400,
    seed: 42,
    users: 5,
    versionsPerModel: 2,
  })
  const facts = factsOf(dataset)
  const s = facts.scenarios
  let client: MongoClient
  let db: Db
  let graph: UsageGraph
  const rules = (over: Partial<UsageRules> = {}): UsageRules => ({gracePeriodDays: 7, now: NOW, ...over})
  const kinds = (imageType: 'environment' | 'model', tag: string): SourceKind[] =>
    [...new Set(graph.lookup(imageType, tag)?.sources.map((x) => x.kind))].sort()
  const inUse = (tag: string, over: Partial<UsageRules> = {}) => graph.evaluate('environment', tag, rules(over)).inUse
  const last = (tag: string) => graph.evaluate('environment', tag, rules()).lastUsed?.getTime()

  before(async () => {
    // The shared harness server, with this suite's own database.
    const {uri} = services().mongo
    await seedMongo(uri, DB, dataset)
    client = new MongoClient(uri)
    await client.connect()
    db = client.db(DB)
    graph = await buildUsageGraph(db, {now: NOW})
  })

  after(async () => {
    await client?.close()
  })

  it('plants every scenario (the dataset is big enough)', () => {
    for (const name of [
      'recentRun',
      'oldRun',
      'undatedRun',
      'laterSession',
      'modelBase',
      'fresh',
      'someRevisionPin',
    ] as const) {
      expect(s[name], name).to.be.a('string')
    }
  })

  it('finds, for every environment tag, exactly the kinds of usage the generator planted', () => {
    const mismatches: string[] = []
    for (const [tag, expected] of Object.entries(facts.environmentTagUsage)) {
      const got = kinds('environment', tag)
      if (got.join(',') !== expected.join(',')) mismatches.push(`${tag}: expected [${expected}] got [${got}]`)
    }

    expect(mismatches).to.deep.equal([])
    // Not trivially all-used or all-unused.
    const used = Object.values(facts.environmentTagUsage).filter((k) => k.length > 0).length
    expect(used).to.be.greaterThan(10)
    expect(Object.keys(facts.environmentTagUsage).length - used).to.be.greaterThan(3)
  })

  it('finds, for every registry model tag (full form), the planted usage', () => {
    const mismatches: string[] = []
    for (const [tag, expected] of Object.entries(facts.modelTagUsage)) {
      const got = kinds('model', tag)
      if (got.join(',') !== expected.join(',')) mismatches.push(`${tag}: expected [${expected}] got [${got}]`)
    }

    expect(mismatches).to.deep.equal([])
    expect(
      Object.values(facts.modelTagUsage).some((k) => k.length === 0),
      'archived model tags',
    ).to.equal(true)
  })

  it('matches a registry model tag against the stored <modelId>-vN prefix', () => {
    expect(facts.modelPrefixStored.length).to.be.greaterThan(0)
    for (const {registryTag, storedTag} of facts.modelPrefixStored) {
      expect(registryTag.startsWith(`${storedTag}-`)).to.equal(true)
      const u = graph.lookup('model', registryTag)
      expect(u?.tag, registryTag).to.equal(storedTag)
    }
  })

  it('honours SomeRevision(<id>) in project defaults (the pinned revision, not the active one)', () => {
    expect(kinds('environment', s.someRevisionPin!)).to.deep.equal(['project'])
    expect(inUse(s.someRevisionPin!, {unusedSinceDays: 1})).to.equal(true)
  })

  it('counts every workspace session, not only the first', () => {
    const u = graph.lookup('environment', s.laterSession!)
    expect(u?.sources.map((x) => `${x.kind}/${x.usageType}`)).to.deep.equal(['workspace/session'])
  })

  it('does not count deleted workspaces or reusable-volume runs', () => {
    expect(kinds('environment', s.deletedWorkspace!)).to.deep.equal([])
    expect(kinds('environment', s.reusableOnly!)).to.deep.equal([])
    expect(inUse(s.deletedWorkspace!)).to.equal(false)
  })

  it('protects the base environment revision of model versions, except of archived models', () => {
    expect(kinds('environment', s.modelBase!)).to.deep.equal(['model_version'])
    expect(inUse(s.modelBase!, {unusedSinceDays: 1})).to.equal(true)
    expect(kinds('environment', s.archivedModelBase!)).to.deep.equal([])
  })

  it('keeps every active revision of a non-archived environment in use', () => {
    for (const tag of facts.activeRevisionTags) {
      expect(inUse(tag, {gracePeriodDays: 0, unusedSinceDays: 1}), tag).to.equal(true)
    }
  })

  it('ages out run usage with --unused-since-days, never a run that has not completed', () => {
    expect(inUse(s.recentRun!, {unusedSinceDays: 30})).to.equal(true)
    expect(inUse(s.oldRun!, {unusedSinceDays: 30})).to.equal(false)
    expect(inUse(s.oldRun!)).to.equal(true)
    // No start, no completion, status Running: in use now.
    expect(inUse(s.undatedRun!, {unusedSinceDays: 1})).to.equal(true)
    expect(graph.evaluate('environment', s.undatedRun!, rules({unusedSinceDays: 1})).lastUsed?.getTime()).to.equal(
      NOW.getTime(),
    )
  })

  it('reads ISO strings with an offset, naive ISO strings and epoch milliseconds as UTC', () => {
    expect(last(s.isoOffsetRun!)).to.equal(NOW.getTime() - 10 * DAY)
    expect(last(s.epochRun!)).to.equal(NOW.getTime() - 10 * DAY)
    expect(NOW.getTime() - last(s.naiveIsoRun!)!).to.be.closeTo(39.9 * DAY, 1000)
    expect(inUse(s.naiveIsoRun!, {unusedSinceDays: 30})).to.equal(false)
    expect(inUse(s.naiveIsoRun!, {unusedSinceDays: 45})).to.equal(true)
  })

  it('protects images younger than the grace period', () => {
    expect(kinds('environment', s.fresh!)).to.deep.equal([])
    expect(inUse(s.fresh!, {gracePeriodDays: 7})).to.equal(true)
    expect(inUse(s.fresh!, {gracePeriodDays: 0})).to.equal(false)
  })

  it('names owners and reasons', () => {
    const u = graph.lookup('environment', s.recentRun!)!
    expect(u.owner?.login).to.match(/^(user\d+|departed\.user)$/)
    expect(graph.evaluate('environment', s.recentRun!, rules()).summary).to.equal('1 execution in MongoDB')
  })

  it('rebuilds the same graph from a written usage report, so a reused report is judged under new rules', () => {
    // Through JSON on purpose: that is what the report file holds (structuredClone would keep non-JSON values).
    // eslint-disable-next-line unicorn/prefer-structured-clone
    const written = JSON.parse(JSON.stringify(usageReport(graph, rules(), DB))) as UsageReport
    const again = graphFromReport(written)
    const tags = [...graph.all()]
    expect([...again.all()].length).to.equal(tags.length)
    for (const over of [{}, {unusedSinceDays: 30}, {gracePeriodDays: 0, unusedSinceDays: 1}]) {
      for (const u of tags) {
        const a = graph.evaluate(u.imageType, u.tag, rules(over))
        const b = again.evaluate(u.imageType, u.tag, rules(over))
        expect([b.inUse, b.reasons, b.lastUsed], `${u.tag} ${JSON.stringify(over)}`).to.deep.equal([
          a.inUse,
          a.reasons,
          a.lastUsed,
        ])
      }
    }

    // Registry model tags still resolve through the stored `<modelId>-vN` prefix.
    for (const {registryTag, storedTag} of facts.modelPrefixStored) {
      expect(again.lookup('model', registryTag)?.tag).to.equal(storedTag)
    }
  })

  it('answers a single-tag live re-check with targeted queries, agreeing with the full graph', async () => {
    const envTags = [
      ...Object.values(s),
      ...facts.activeRevisionTags.slice(0, 5),
      ...Object.keys(facts.environmentTagUsage).slice(0, 10),
    ]
    for (const tag of envTags) {
      for (const over of [{}, {unusedSinceDays: 30}]) {
        // eslint-disable-next-line no-await-in-loop -- one re-check at a time, as the deletion lifecycle runs them
        const live = await isInUse(db, `environment:${tag}`, rules(over))
        expect(live.inUse, tag).to.equal(graph.evaluate('environment', tag, rules(over)).inUse)
        expect([...new Set(live.usage?.sources.map((x) => x.kind))].sort(), tag).to.deep.equal(
          kinds('environment', tag),
        )
      }
    }

    for (const tag of Object.keys(facts.modelTagUsage).slice(0, 6)) {
      // eslint-disable-next-line no-await-in-loop -- one re-check at a time, as the deletion lifecycle runs them
      const live = await isInUse(db, {imageType: 'model', tag}, rules())
      expect(live.inUse, tag).to.equal(graph.evaluate('model', tag, rules()).inUse)
    }
  })
})
