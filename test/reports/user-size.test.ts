import {expect} from 'chai'
import {type Document, MongoClient, ObjectId} from 'mongodb'
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type {DrcConfig} from '../../packages/core/src/config/types.js'

import {BlobGraph} from '../../packages/core/src/analysis/graph.js'
import {loadConfig} from '../../packages/core/src/config/load.js'
import {loadImageOwners, userSizes} from '../../packages/core/src/reports/user-size.js'
import {UsageSourceError} from '../../packages/core/src/usage/reader.js'
import {services} from '../support/harness.js'

const ENV_REPO = 'dominodatalab/environment'
const MODEL_REPO = 'dominodatalab/model'
/** Ids from 2020: older than any grace period. */
const old = (n: number) => ObjectId.createFromHexString(`5f000000${String(n).padStart(16, '0')}`)

/** Adds a single-platform image `name` with the given layers (digest seed → size) under `tags`. */
function addImage(g: BlobGraph, repository: string, tags: string[], layers: Array<[string, number]>): void {
  const name = tags[0]
  g.addManifest({
    config: {digest: `sha256:c-${name}`, size: 1},
    digest: `sha256:m-${name}`,
    kind: 'image',
    layers: layers.map(([d, size]) => ({digest: `sha256:${d}`, size})),
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    size: 2,
  })
  for (const tag of tags) g.addTag(repository, tag, `sha256:m-${name}`)
}

describe('user-size', () => {
  it('counts a layer shared between two owners as freed for neither, and groups unknown owners', () => {
    const g = new BlobGraph()
    addImage(
      g,
      'r/environment',
      ['a1'],
      [
        ['base', 100],
        ['a1', 10],
      ],
    )
    addImage(
      g,
      'r/environment',
      ['a2', 'a2b'],
      [
        ['base', 100],
        ['a2', 20],
      ],
    )
    addImage(
      g,
      'r/environment',
      ['b1'],
      [
        ['base', 100],
        ['b1', 30],
      ],
    )
    addImage(g, 'r/environment', ['x'], [['x', 5]])
    const alice = {id: 'a'.repeat(24), login: 'alice', name: 'Alice A'}
    const bob = {id: 'b'.repeat(24)}
    const rows = userSizes(
      g,
      new Map([
        ['r/environment:a1', alice],
        ['r/environment:a2', alice],
        ['r/environment:b1', bob],
      ]),
    )
    // Each image: manifest 2 + config 1 + layers. Alice's two images free their own layers, configs and manifests.
    expect(rows).to.deep.equal([
      {
        // The shared base (100) counts once in what Alice's images need together.
        distinct_bytes: 100 + 10 + 20 + 2 * 3,
        freed_bytes: 10 + 20 + 2 * 3,
        images: 2,
        login_id: 'alice',
        owner: 'alice',
        tags: 3,
        total_bytes: 113 + 123,
        user_id: alice.id,
        user_name: 'Alice A',
      },
      {
        distinct_bytes: 133,
        freed_bytes: 30 + 3,
        images: 1,
        login_id: null,
        owner: bob.id,
        tags: 1,
        total_bytes: 133,
        user_id: bob.id,
        user_name: null,
      },
      {
        distinct_bytes: 8,
        freed_bytes: 5 + 3,
        images: 1,
        login_id: null,
        owner: '(unknown)',
        tags: 1,
        total_bytes: 8,
        user_id: null,
        user_name: null,
      },
    ])
  })

  describe('loadImageOwners from MongoDB (FerretDB)', function () {
    this.timeout(60_000)
    const DB = 'user_size_owners_test'
    const BROKEN = 'user_size_owners_broken'
    const users = Object.fromEntries(['alice', 'bob', 'carol', 'dave', 'erin'].map((u, i) => [u, old(100 + i)]))
    const env = old(1)
    const [rev1, rev2] = [old(2), old(3)]
    const [m1, m2] = [old(4), old(5)]
    const m1Tag = `${m1.toHexString()}-v1-2020101120000_abcdefgh`
    const m2Tag = `${m2.toHexString()}-v1-2020101120000_ijklmnop`
    const collections: Record<string, Document[]> = {
      environment_revisions: [rev1, rev2].map((id, i) => ({
        _id: id,
        environmentId: env,
        // The author is not the owner: the image belongs to the environment's owner.
        metadata: {authorId: users.bob, dockerImageName: {repository: ENV_REPO, tag: `env-${i + 1}`}, isBuilt: true},
      })),
      environments_v2: [{_id: env, activeRevisionId: rev2, isArchived: false, name: 'env', ownerId: users.alice}],
      model_versions: [
        {
          _id: old(6),
          environmentRevisionId: rev2,
          // The version's creator is neither the model's owner nor its creator.
          metadata: {
            builds: [{slug: {image: {repository: MODEL_REPO, tag: `${m1.toHexString()}-v1`}}}],
            createdBy: users.erin,
          },
          modelId: {value: m1},
        },
        {
          _id: old(7),
          environmentRevisionId: rev2,
          metadata: {builds: [{slug: {image: {repository: MODEL_REPO, tag: m2Tag}}}], createdBy: users.erin},
          modelId: {value: m2},
        },
      ],
      models: [
        {
          _id: m1,
          collaboratorSettings: [
            {collaboratorId: users.dave, role: 'Contributor'},
            {collaboratorId: users.carol, role: 'Owner'},
          ],
          isArchived: false,
          metadata: {createdBy: users.dave},
          name: 'm1',
        },
        // No Owner collaborator: the model's creator owns it.
        {_id: m2, collaboratorSettings: [], isArchived: false, metadata: {createdBy: users.dave}, name: 'm2'},
      ],
      projects: [],
      runs: [],
      scheduler_jobs: [],
      users: Object.entries(users).map(([login, id]) => ({_id: id, fullName: `${login} full`, loginId: {id: login}})),
      workspace: [],
      workspace_session: [],
    }
    let dir: string
    let config: DrcConfig
    const rules = {gracePeriodDays: 7, now: new Date('2026-03-01T00:00:00Z')}

    before(async () => {
      const {uri} = services().mongo
      const client = new MongoClient(uri)
      await client.connect()
      try {
        for (const name of [DB, BROKEN]) {
          const db = client.db(name)
          // eslint-disable-next-line no-await-in-loop -- two small databases, seeded one after the other
          await db.dropDatabase()
          for (const [coll, docs] of Object.entries(collections)) {
            if (name === BROKEN && coll === 'runs') continue
            // eslint-disable-next-line no-await-in-loop -- collection by collection, in order
            await db.createCollection(coll)
            // eslint-disable-next-line no-await-in-loop -- collection by collection, in order
            if (docs.length > 0) await db.collection(coll).insertMany(docs)
          }
        }
      } finally {
        await client.close()
      }

      dir = mkdtempSync(path.join(os.tmpdir(), 'drc-user-size-'))
      config = (await loadConfig({cwd: dir, env: {DRC_MONGO_URI: uri, MONGODB_DB: DB, OUTPUT_DIR: dir}})).config
    })

    after(() => rmSync(dir, {force: true, recursive: true}))

    it('owns environment images by the environment owner and model images by the Owner collaborator or creator', async () => {
      const g = new BlobGraph()
      addImage(g, ENV_REPO, ['env-1'], [['e1', 10]])
      addImage(g, ENV_REPO, ['env-2'], [['e2', 20]])
      addImage(g, ENV_REPO, ['not-in-mongo'], [['n', 40]])
      addImage(g, MODEL_REPO, [m1Tag], [['m1', 80]])
      addImage(g, MODEL_REPO, [m2Tag], [['m2', 160]])
      const loaded = await loadImageOwners(config, {generate: true, maxAgeHours: 24, rules})
      expect(loaded.usage.reused).to.equal(false)
      const owners = loaded.ownersOf(g)
      const login = (repo: string, tag: string) => owners.get(`${repo}:${tag}`)?.login
      expect(login(ENV_REPO, 'env-1')).to.equal('alice')
      expect(login(ENV_REPO, 'env-2')).to.equal('alice')
      expect(login(MODEL_REPO, m1Tag)).to.equal('carol')
      expect(login(MODEL_REPO, m2Tag)).to.equal('dave')
      expect(owners.has(`${ENV_REPO}:not-in-mongo`)).to.equal(false)
      const rows = userSizes(g, owners)
      expect(rows.map((r) => [r.owner, r.user_name, r.images, r.total_bytes, r.freed_bytes])).to.deep.equal([
        ['dave', 'dave full', 1, 163, 163],
        ['carol', 'carol full', 1, 83, 83],
        ['(unknown)', null, 1, 43, 43],
        ['alice', 'alice full', 2, 36, 36],
      ])

      // A second call reuses the fresh usage report and answers the same.
      const again = await loadImageOwners(config, {generate: false, maxAgeHours: 24, rules})
      expect(again.usage.reused).to.equal(true)
      expect(again.usage.path).to.equal(loaded.usage.path)
      expect([...again.ownersOf(g)]).to.deep.equal([...owners])
    })

    it('refuses, naming the source, when a required collection is missing, and writes no report', async () => {
      const out = mkdtempSync(path.join(os.tmpdir(), 'drc-user-size-broken-'))
      const broken = (
        await loadConfig({cwd: out, env: {DRC_MONGO_URI: services().mongo.uri, MONGODB_DB: BROKEN, OUTPUT_DIR: out}})
      ).config
      const err = await loadImageOwners(broken, {generate: false, maxAgeHours: 24, rules}).then(
        () => null,
        (error: unknown) => error,
      )
      expect(err).to.be.instanceOf(UsageSourceError)
      expect((err as UsageSourceError).source).to.equal('runs')
      expect(readdirSync(out)).to.deep.equal([])
      rmSync(out, {force: true, recursive: true})
    })
  })
})
