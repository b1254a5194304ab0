import {expect} from 'chai'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {DeletionResult} from '../../packages/core/src/lifecycle/index.js'

import {runCli} from '../../plugins/archived/test/helpers.js'
import {buildWorld, presentTags, type Running, startWorld, type World} from '../../plugins/unused/test/world.js'
import {pushImages} from '../fixtures/push-images.js'
import {testClient} from '../registry/helpers.js'
import {isolatedOclifEnv} from '../support/cli.js'

const DAY = 86_400_000
const MODEL_REPO = 'dominodatalab/model'
const tagsOf = (items: Array<{tags: string[]}>) => items.flatMap((i) => i.tags).sort()

/**
 * `drc image delete` (issue 11 part 7) through bin/run.js against a real registry (deletion enabled, external) and
 * FerretDB: A is an unused environment (3 revisions, A-3 active: kept as such), K one in use (recent runs); an archived model's version has
 * a slug image; one environment tag MongoDB does not know.
 */
describe('drc image delete (real registry + FerretDB)', function () {
  this.timeout(180_000)
  let world: World
  let running: Running | undefined
  const unknownTag = `${randomBytes(12).toString('hex')}-1`
  // Keeps the model repository from being emptied (the empty-repository guard is another test's subject).
  const unknownModelTag = `${randomBytes(12).toString('hex')}-v1-20240101_zzz`
  let modelTag = ''
  let versionId = ''

  before(async () => {
    world = await buildWorld({A: {revisions: 3}, K: {revisions: 2}}, (w, oid, now) => {
      const {envs: e} = w
      const c = w.collections
      const p1 = e.K.id.slice(0, 8) + 'aaaaaaaaaaaaaaaa'
      c.projects.push({_id: oid(p1), isArchived: false, name: 'p'})
      for (const [i, rev] of e.K.revs.slice(1).entries())
        c.runs.push({
          _id: oid(rev.slice(0, 8) + `bbbbbbbbbbbbbbb${i}`),
          completed: new Date(now - 2 * DAY),
          environmentRevisionId: oid(rev),
          projectId: oid(p1),
          started: new Date(now - 2 * DAY),
          status: 'Succeeded',
        })
      const model = e.A.id.slice(0, 8) + 'eeeeeeeeeeeeeeee'
      versionId = e.A.id.slice(0, 8) + 'ffffffffffffffff'
      modelTag = `${model}-v1-20240101_abc`
      c.models.push({_id: oid(model), isArchived: true, name: 'm'})
      c.model_versions.push({
        _id: oid(versionId),
        metadata: {builds: [{slug: {image: {repository: MODEL_REPO, tag: modelTag}}}]},
        modelId: {value: oid(model)},
      })
    })
  })

  afterEach(async () => {
    await running?.registry.stop()
    running = undefined
  })

  async function start(): Promise<Running> {
    running = await startWorld(world, isolatedOclifEnv(), 'image_delete')
    const client = testClient(running.registry.url)
    await pushImages(client, [
      {layers: [{seed: `model-${modelTag}`, size: 512}], repository: MODEL_REPO, tags: [modelTag]},
      {
        layers: [{seed: `unknown-${unknownTag}`, size: 512}],
        repository: 'dominodatalab/environment',
        tags: [unknownTag],
      },
      {layers: [{seed: `unknown-${unknownModelTag}`, size: 512}], repository: MODEL_REPO, tags: [unknownModelTag]},
    ])
    return running
  }

  const drc = (args: string[], r: Running) => runCli(['image', 'delete', ...args], {env: r.env})
  const modelTags = async (r: Running) => (await testClient(r.registry.url).listTags(MODEL_REPO)).sort()

  it('by reference (environment:<tag>, model:<tag>, host/repo:tag): dry run changes nothing, --apply deletes them', async () => {
    const r = await start()
    const {A, K} = world.envs
    const {host} = new URL(r.registry.url)
    const refs = [`environment:${A.tags[1]}`, `${host}/dominodatalab/environment:${A.tags[2]}`, `model:${modelTag}`]
    const dry = await drc([...refs, '--json'], r)
    expect(dry.code, dry.stderr).to.equal(0)
    const plan = dry.json() as DeletionResult
    expect(tagsOf(plan.planned)).to.deep.equal([A.tags[1], A.tags[2], modelTag].sort())
    expect(await presentTags(r.registry)).to.include.members([A.tags[1], A.tags[2]])

    const applied = await drc([...refs, '--apply', '--force', '--json'], r)
    expect(applied.code, applied.stderr + applied.stdout).to.equal(0)
    expect(tagsOf((applied.json() as DeletionResult).deleted)).to.deep.equal([A.tags[1], A.tags[2], modelTag].sort())
    expect(await presentTags(r.registry)).to.deep.equal([A.tags[3], K.tags[1], K.tags[2], unknownTag].sort())
    expect(await modelTags(r)).to.deep.equal([unknownModelTag])
  })

  it('a named image in use is kept with the reason and the run exits 4 (dry run and --apply); the others go', async () => {
    const r = await start()
    const {A, K} = world.envs
    const refs = [`environment:${K.tags[1]}`, `environment:${A.tags[1]}`]
    const dry = await drc([...refs, '--json'], r)
    expect(dry.code, dry.stderr).to.equal(4)
    const plan = dry.json() as DeletionResult
    expect(tagsOf(plan.in_use)).to.deep.equal([K.tags[1]])
    expect(plan.in_use[0].inUseAtPlan).to.match(/execution|run/)

    const applied = await drc([...refs, '--apply', '--force'], r)
    expect(applied.code, applied.stderr).to.equal(4)
    expect(applied.stdout).to.match(new RegExp(`in use .*${K.tags[1]}`))
    const after = await presentTags(r.registry)
    expect(after).to.include(K.tags[1])
    expect(after).not.to.include(A.tags[1])
  })

  it('a named tag MongoDB does not know is kept ("unknown to MongoDB"), exit 4; nothing deleted', async () => {
    const r = await start()
    const applied = await drc([`environment:${unknownTag}`, '--apply', '--force', '--json'], r)
    expect(applied.code, applied.stderr).to.equal(4)
    const out = applied.json() as DeletionResult
    expect(out.in_use[0].inUseAtPlan).to.match(/unknown to MongoDB/)
    expect(out.deleted).to.deep.equal([])
    expect(await presentTags(r.registry)).to.include(unknownTag)
  })

  it('usage errors (exit 2, nothing done): another registry host (named), no host, bad ObjectId file line', async () => {
    const r = await start()
    const before = await presentTags(r.registry)
    const other = await drc(['other.example.com:5000/dominodatalab/environment:x-1', '--apply', '--force'], r)
    expect(other.code, other.stderr).to.equal(2)
    expect(other.stderr).to.match(/other\.example\.com:5000/)
    expect(other.stderr).to.include(new URL(r.registry.url).host)
    const noHost = await drc(['dominodatalab/environment:x-1'], r)
    expect(noHost.code, noHost.stderr).to.equal(2)
    expect(noHost.stderr).to.match(/no registry host/)

    const dir = mkdtempSync(path.join(tmpdir(), 'drc-image-ids-'))
    const file = path.join(dir, 'ids.txt')
    writeFileSync(file, `environment:${world.envs.A.id}\nenvironment:not-an-id\n`)
    const bad = await drc(['--input', file, '--apply', '--force'], r)
    expect(bad.code, bad.stderr).to.equal(2)
    expect(bad.stderr).to.include(`${file}:2:`)
    expect(await presentTags(r.registry)).to.deep.equal(before)
  })

  it('--input: the images of environment / model version ids; in-use ones kept (exit 0: not named)', async () => {
    const r = await start()
    const {A, K} = world.envs
    const dir = mkdtempSync(path.join(tmpdir(), 'drc-image-ids-'))
    const file = path.join(dir, 'ids.txt')
    writeFileSync(file, `# ids\nenvironment:${A.id}\nmodelVersion:${versionId}\nenvironment:${K.id}\n`)
    const dry = await drc(['--input', file, '--json'], r)
    expect(dry.code, dry.stderr).to.equal(0)
    const plan = dry.json() as DeletionResult
    expect(tagsOf(plan.planned)).to.deep.equal([A.tags[1], A.tags[2], modelTag].sort())
    expect(tagsOf(plan.in_use)).to.deep.equal([A.tags[3], K.tags[1], K.tags[2]].sort())

    const applied = await drc(['--input', file, '--apply', '--force', '--json'], r)
    expect(applied.code, applied.stderr + applied.stdout).to.equal(0)
    expect(tagsOf((applied.json() as DeletionResult).deleted)).to.deep.equal([A.tags[1], A.tags[2], modelTag].sort())
    expect(await presentTags(r.registry)).to.deep.equal([A.tags[3], K.tags[1], K.tags[2], unknownTag].sort())
  })

  it('--unused: the unused images of the latest analysis; in-use and unknown-to-MongoDB tags are no candidates', async () => {
    const r = await start()
    const {A, K} = world.envs
    const dry = await drc(['--unused', '--json'], r)
    expect(dry.code, dry.stderr).to.equal(0)
    const plan = dry.json() as DeletionResult
    expect(tagsOf(plan.planned)).to.deep.equal([A.tags[1], A.tags[2], modelTag].sort())
    expect(tagsOf(plan.in_use)).to.deep.equal([])

    const applied = await drc(['--unused', '--apply', '--force', '--json'], r)
    expect(applied.code, applied.stderr + applied.stdout).to.equal(0)
    expect(await presentTags(r.registry)).to.deep.equal([A.tags[3], K.tags[1], K.tags[2], unknownTag].sort())
    expect(await modelTags(r)).to.deep.equal([unknownModelTag])
  })
})
