import {expect} from 'chai'
import {type Db, type Document, MongoClient, ObjectId} from 'mongodb'

import type {UsageRules} from '../../packages/core/src/usage/types.js'

import {buildUsageGraph} from '../../packages/core/src/usage/build.js'
import {cloneProtection} from '../../packages/core/src/usage/clone-chain.js'
import {isInUse} from '../../packages/core/src/usage/live.js'
import {graphFromReport, usageReport} from '../../packages/core/src/usage/report.js'
import {services} from '../support/harness.js'
import {seedShaped} from './shapes.js'

const NOW = new Date('2026-03-01T12:00:00Z')
const DAY = 86_400_000
const ago = (days: number) => new Date(NOW.getTime() - days * DAY)
const rules: UsageRules = {gracePeriodDays: 0, now: NOW, unusedSinceDays: 30}

/** One environment with one revision, tagged `<envId>-1`; archived, so its active revision protects nothing. */
function env(): {doc: Document; envId: ObjectId; rev: Document; revId: ObjectId; tag: string} {
  const envId = new ObjectId()
  const revId = new ObjectId()
  const tag = `${envId.toHexString()}-1`
  return {
    doc: {_id: envId, activeRevisionId: revId, isArchived: true, name: 'e'},
    envId,
    rev: {_id: revId, environmentId: envId, metadata: {dockerImageName: {repository: 'r', tag}, isBuilt: true}},
    revId,
    tag,
  }
}

/** Revisions a ← b ← c (c cloned from b, b from a), each in its own environment; ids in several shapes. */
async function seedChain(db: Db, extra: Document[] = []) {
  const [a, b, c] = [env(), env(), env()]
  b.rev.clonedEnvironmentRevisionId = {value: a.revId}
  c.rev.clonedEnvironmentRevisionId = b.revId.toHexString().toUpperCase()
  await seedShaped(db, {
    environment_revisions: [a.rev, b.rev, c.rev, ...extra],
    environments_v2: [a.doc, b.doc, c.doc],
  })
  return {a, b, c}
}

describe('usage protection rules (FerretDB)', function () {
  this.timeout(120_000)
  let client: MongoClient
  let db: Db

  before(async () => {
    client = new MongoClient(services().mongo.uri)
    await client.connect()
    db = client.db('usage_protection_rules')
  })

  after(async () => {
    await client?.close()
  })

  /** Full graph and live re-check verdicts of `tag` under `rules`. */
  async function verdicts(tag: string) {
    const graph = await buildUsageGraph(db, {now: NOW})
    return {full: graph.evaluate('environment', tag, rules), live: await isInUse(db, `environment:${tag}`, rules)}
  }

  describe('"active revision" of an environment that has none', () => {
    it('a project default naming an environment without activeRevisionId protects every revision of it', async () => {
      const e = env()
      const secondTag = `${e.envId.toHexString()}-2`
      const second = {
        _id: new ObjectId(),
        environmentId: e.envId,
        metadata: {dockerImageName: {repository: 'r', tag: secondTag}, isBuilt: true},
      }
      const other = env()
      delete e.doc.activeRevisionId
      await seedShaped(db, {
        environment_revisions: [e.rev, second, other.rev],
        environments_v2: [e.doc, other.doc],
        projects: [{_id: new ObjectId(), name: 'p', overrideV2EnvironmentId: e.envId}],
      })
      const both = await Promise.all([verdicts(e.tag), verdicts(secondTag)])
      for (const v of both) expect([v.full.inUse, v.live.inUse]).to.deep.equal([true, true])

      const o = await verdicts(other.tag)
      expect([o.full.inUse, o.live.inUse]).to.deep.equal([false, false])
    })
  })

  describe('an existing workspace protects what its configuration names, whatever its age', () => {
    it('a stopped workspace 60 days old protects its environment under unusedSinceDays 30; a Deleted one does not', async () => {
      const kept = env()
      const gone = env()
      const ws = (e: ReturnType<typeof env>, state: string) => ({
        _id: new ObjectId(),
        configTemplate: {environmentId: e.envId, environmentRevisionSpec: 'ActiveRevision'},
        name: state,
        state,
        stateUpdatedAt: ago(60),
      })
      const stopped = ws(kept, 'Stopped')
      await seedShaped(db, {
        environment_revisions: [kept.rev, gone.rev],
        environments_v2: [kept.doc, gone.doc],
        workspace: [stopped, ws(gone, 'Deleted')],
      })
      const k = await verdicts(kept.tag)
      for (const v of [k.full, k.live]) {
        expect(v.inUse).to.equal(true)
        expect(v.reasons).to.deep.equal([`existing workspace ${stopped._id.toHexString()} (stopped)`])
      }

      const g = await verdicts(gone.tag)
      expect([g.full.inUse, g.live.inUse]).to.deep.equal([false, false])
    })

    it('what its sessions used is history: it lapses with unusedSinceDays', async () => {
      const e = env()
      await seedShaped(db, {
        environment_revisions: [e.rev],
        environments_v2: [e.doc],
        workspace: [{_id: new ObjectId(), configTemplate: {}, state: 'Stopped', stateUpdatedAt: ago(60)}],
      })
      const wsId = (await db.collection('workspace').findOne({}))!._id
      await db
        .collection('workspace_session')
        .insertOne({environmentRevisionId: e.revId, rawExecutionDisplayStatus: 'Stopped', workspaceId: wsId})
      const v = await verdicts(e.tag)
      expect([v.full.inUse, v.live.inUse]).to.deep.equal([false, false])
      expect((await verdicts(e.tag)).full.summary).to.equal('1 workspace')
    })
  })

  describe('a run or session not completed is in use now', () => {
    it('a Running run started 45 days ago is in use under unusedSinceDays 30; a completed one is not', async () => {
      const running = env()
      const done = env()
      const noEnd = env()
      const run = (e: ReturnType<typeof env>, extra: Document) => ({
        _id: new ObjectId(),
        environmentRevisionId: e.revId,
        started: ago(45),
        volumeSpecification: {_t: 'RunEphemeralVolumeSpecification'},
        ...extra,
      })
      await seedShaped(db, {
        environment_revisions: [running.rev, done.rev, noEnd.rev],
        environments_v2: [running.doc, done.doc, noEnd.doc],
        runs: [
          // A completion time with a status that is not final still counts as running (and vice versa).
          run(running, {completed: ago(44), status: 'Running'}),
          run(done, {completed: ago(44), status: 'Succeeded'}),
          run(noEnd, {status: 'Succeeded'}),
        ],
      })
      for (const e of [running, noEnd]) {
        // eslint-disable-next-line no-await-in-loop -- two tags, one after the other
        const v = await verdicts(e.tag)
        for (const x of [v.full, v.live]) {
          expect(x.inUse).to.equal(true)
          expect(x.lastUsed?.getTime()).to.equal(NOW.getTime())
        }
      }

      const d = await verdicts(done.tag)
      expect([d.full.inUse, d.live.inUse]).to.deep.equal([false, false])
    })

    it('a workspace whose session is still running uses its session images now', async () => {
      const e = env()
      const wsId = new ObjectId()
      await seedShaped(db, {
        environment_revisions: [e.rev],
        environments_v2: [e.doc],
        workspace: [{_id: wsId, configTemplate: {}, state: 'Stopped', stateUpdatedAt: ago(60)}],
        workspace_session: [{environmentRevisionId: e.revId, rawExecutionDisplayStatus: 'Pulling', workspaceId: wsId}],
      })
      const v = await verdicts(e.tag)
      expect([v.full.inUse, v.live.inUse]).to.deep.equal([true, true])
    })
  })

  describe('build chain: a revision a kept revision was cloned from is kept, recursively', () => {
    it('a chain of 3 across environments: deleting the two ancestors of a kept revision keeps both', async () => {
      const {a, b, c} = await seedChain(db)
      const graph = await buildUsageGraph(db, {now: NOW})
      const kept = cloneProtection(graph, new Set([a.tag, b.tag]))
      expect([...kept.keys()].sort()).to.deep.equal([a.tag, b.tag].sort())
      expect(kept.get(b.tag)).to.include(c.revId.toHexString()).and.include(c.tag)
      expect(kept.get(a.tag)).to.include(c.revId.toHexString())
      // Deleting the whole chain keeps nothing; deleting only the newest keeps nothing either.
      expect(cloneProtection(graph, new Set([a.tag, b.tag, c.tag])).size).to.equal(0)
      expect(cloneProtection(graph, new Set([c.tag])).size).to.equal(0)
      // The scoped build of the re-check sees the same chain from the oldest revision.
      const scoped = await buildUsageGraph(db, {now: NOW, scope: {environmentIds: [a.envId.toHexString()]}})
      expect([...cloneProtection(scoped, new Set([a.tag, b.tag])).keys()]).to.include(a.tag)
    })

    it('a cycle ends the walk, and a missing parent protects nothing', async () => {
      const x = env()
      const y = env()
      x.rev.clonedEnvironmentRevisionId = y.revId
      y.rev.clonedEnvironmentRevisionId = x.revId
      const orphan = env()
      orphan.rev.clonedEnvironmentRevisionId = new ObjectId()
      await seedShaped(db, {
        environment_revisions: [x.rev, y.rev, orphan.rev],
        environments_v2: [x.doc, y.doc, orphan.doc],
      })
      const graph = await buildUsageGraph(db, {now: NOW})
      expect([...cloneProtection(graph, new Set([x.tag])).keys()]).to.deep.equal([x.tag])
      expect(cloneProtection(graph, new Set([x.tag, y.tag])).size).to.equal(0)
      expect(cloneProtection(graph, new Set([orphan.tag])).size).to.equal(0)
    })

    it('refuses to answer on a graph rebuilt from a report (no revisions)', async () => {
      await seedChain(db)
      const graph = await buildUsageGraph(db, {now: NOW})
      const fromReport = graphFromReport(usageReport(graph, rules, db.databaseName))
      expect(() => cloneProtection(fromReport, new Set())).to.throw(/clone chain rule needs a usage graph/)
    })
  })
})
