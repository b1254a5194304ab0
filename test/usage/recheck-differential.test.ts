import {expect} from 'chai'
import {type Db, MongoClient} from 'mongodb'

import type {UsageGraph} from '../../packages/core/src/usage/graph.js'
import type {UsageRules} from '../../packages/core/src/usage/types.js'

import {buildUsageGraph} from '../../packages/core/src/usage/build.js'
import {findEnvironmentUsage} from '../../packages/core/src/usage/find.js'
import {isInUse} from '../../packages/core/src/usage/live.js'
import {hexOf} from '../../packages/core/src/usage/tags.js'
import {services} from '../support/harness.js'
import {seedShaped, shapedDataset} from './shapes.js'

const NOW = new Date('2026-03-01T12:00:00Z')
const DB = 'usage_recheck_differential'

/**
 * The live re-check (a scoped build) must answer exactly what the full graph answers, for every tag, whatever
 * shape the ids in MongoDB have: a scoped read that misses a document would call an image in use "unused".
 */
describe('live re-check equals the full usage graph (differential, FerretDB)', function () {
  this.timeout(300_000)
  let client: MongoClient
  let db: Db

  before(async () => {
    client = new MongoClient(services().mongo.uri)
    await client.connect()
    db = client.db(DB)
  })

  after(async () => {
    await client?.close()
  })

  const ruleSets: Array<[string, UsageRules]> = [
    ['no age limit', {gracePeriodDays: 0, now: NOW}],
    ['unusedSinceDays 30', {gracePeriodDays: 0, now: NOW, unusedSinceDays: 30}],
  ]

  for (const seed of [1, 2, 3]) {
    it(`isInUse and usage find agree with the full graph for every tag (seed ${seed})`, async () => {
      await seedShaped(db, shapedDataset(seed, NOW))
      const graph = await buildUsageGraph(db, {now: NOW})
      const mismatches: string[] = []
      let used = 0
      let unused = 0
      for (const [name, rules] of ruleSets) {
        for (const u of graph.all()) {
          const full = graph.evaluate(u.imageType, u.tag, rules)
          if (full.inUse) used++
          else unused++
          // eslint-disable-next-line no-await-in-loop -- one re-check per tag, as the lifecycle does
          const live = await isInUse(db, {imageType: u.imageType, tag: u.tag}, rules)
          const a = JSON.stringify({inUse: full.inUse, lastUsed: full.lastUsed, reasons: full.reasons})
          const b = JSON.stringify({inUse: live.inUse, lastUsed: live.lastUsed, reasons: live.reasons})
          if (a !== b) mismatches.push(`${name} ${u.imageType}:${u.tag}\n  full ${a}\n  live ${b}`)
        }

        // eslint-disable-next-line no-await-in-loop -- one environment at a time
        mismatches.push(...(await findMismatches(db, graph, rules, name)))
      }

      expect(mismatches, mismatches.join('\n')).to.deep.equal([])
      // The data is not trivially all-used or all-unused.
      expect(used).to.be.greaterThan(10)
      expect(unused).to.be.greaterThan(5)
    })
  }
})

/** `drc usage find <envId>`: every revision of every environment must carry the full graph's verdict. */
async function findMismatches(db: Db, graph: UsageGraph, rules: UsageRules, name: string): Promise<string[]> {
  const out: string[] = []
  const envIds = new Set<string>()
  for await (const d of db.collection('environments_v2').find({}, {projection: {_id: 1}})) {
    const id = hexOf(d._id)
    if (id) envIds.add(id)
  }

  for (const envId of envIds) {
    // eslint-disable-next-line no-await-in-loop -- one environment at a time
    const found = await findEnvironmentUsage(db, envId, rules).catch((error: Error) => error)
    if (found instanceof Error) {
      out.push(`${name} find ${envId} failed: ${found.message}`)
      continue
    }

    for (const r of found.revisions) {
      if (!r.tag) continue
      const full = graph.evaluate('environment', r.tag, rules)
      const got = r.usage ? {inUse: r.usage.inUse, reasons: r.usage.reasons} : {inUse: false, reasons: []}
      const a = JSON.stringify({inUse: full.inUse, reasons: full.reasons})
      const b = JSON.stringify(got)
      if (a !== b) out.push(`${name} find ${envId} ${r.tag}\n  full ${a}\n  find ${b}`)
    }

    // Every revision the full graph places in this environment is listed by find.
    const listed = new Set(found.revisions.map((r) => r.revisionId))
    for (const u of graph.data.environments.values()) {
      if (u.environmentId === envId && u.revisionId && !listed.has(u.revisionId)) {
        out.push(`${name} find ${envId} does not list revision ${u.revisionId} (${u.tag})`)
      }
    }
  }

  return out
}
