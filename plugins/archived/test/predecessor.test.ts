import {expect} from 'chai'
import {randomUUID} from 'node:crypto'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {DeletionResult} from '../../../packages/core/src/lifecycle/index.js'

import {pushImages} from '../../../test/fixtures/push-images.js'
import {ENV_REPO, MODEL_REPO, oldId, resultOf, seedDocs} from '../../../test/lifecycle/world.js'
import {testClient} from '../../../test/registry/helpers.js'
import {services} from '../../../test/support/harness.js'
import {linkedPluginsEnv} from '../../../test/support/plugin-cli.js'
import {type RegistryHandle, startRegistry} from '../../../test/support/registry.js'
import {runCli} from './helpers.js'

const planned = (r: DeletionResult) => r.planned.flatMap((i) => i.tags).sort()

/**
 * The predecessor's `delete_archived_tags` surface on `drc archived delete` (issue 12): --environment / --model
 * selection, the hidden alias with its flags, --input (ObjectId file or report), --output, and model versions
 * whose stored slug tag is only the `<modelId>-vN` prefix of their registry tags. Real registry and FerretDB.
 */
describe('@drc/plugin-archived: the predecessor surface (selection, alias, --input/--output, model tag prefixes)', function () {
  this.timeout(240_000)
  let pluginEnv: Record<string, string>
  let registry: RegistryHandle | undefined

  before(() => {
    pluginEnv = linkedPluginsEnv('archived')
  })

  afterEach(async () => {
    await registry?.stop()
    registry = undefined
  })

  /**
   * Archived environments E (revisions 1, 2) and F (1), a live environment L; archived model M whose version stores
   * the prefix `<M>-v1` while the registry holds `<M>-v1-<ts>_<uid>`, and a live model K (full tag stored).
   */
  async function world() {
    const {ObjectId} = await import('mongodb')
    const o = (h: string) => ObjectId.createFromHexString(h)
    const [e, f, l, m, k, v, w, p] = Array.from({length: 8}, () => oldId())
    const revs = {e1: oldId(), e2: oldId()}
    const fullModelTag = `${m}-v1-2025108131540_0fPPRse8`
    const liveModelTag = `${k}-v1-2025108131540_abcd1234`
    const rev = (env: string, n: number, id = oldId()) => ({
      _id: o(id),
      environmentId: o(env),
      metadata: {dockerImageName: {repository: ENV_REPO, tag: `${env}-${n}`}, isBuilt: true},
    })
    const version = (id: string, model: string, tag: string) => ({
      _id: o(id),
      metadata: {builds: [{slug: {image: {repository: MODEL_REPO, tag}}}]},
      modelId: {value: o(model)},
    })
    const db = `archived_predecessor_${randomUUID().slice(0, 8)}`
    await seedDocs(db, {
      environment_revisions: [rev(e, 1, revs.e1), rev(e, 2, revs.e2), rev(f, 1), rev(l, 1)],
      environments_v2: [
        {_id: o(e), isArchived: true, name: 'e'},
        {_id: o(f), isArchived: true, name: 'f'},
        {_id: o(l), isArchived: false, name: 'l'},
      ],
      // The archived model's version stores only the prefix (domain-spec §1.1).
      model_versions: [version(v, m, `${m}-v1`), version(w, k, liveModelTag)],
      models: [
        {_id: o(m), isArchived: true, name: 'm', projectId: o(p)},
        {_id: o(k), isArchived: false, name: 'k', projectId: o(p)},
      ],
      projects: [{_id: o(p), isArchived: false, name: 'p'}],
    })
    registry = await startRegistry()
    const client = testClient(registry.url)
    const refs: Array<[string, string]> = [
      [ENV_REPO, `${e}-1`],
      [ENV_REPO, `${e}-2`],
      [ENV_REPO, `${f}-1`],
      [ENV_REPO, `${l}-1`],
      [MODEL_REPO, fullModelTag],
      [MODEL_REPO, liveModelTag],
    ]
    await pushImages(
      client,
      refs.map(([repository, tag]) => ({layers: [{seed: `p-${tag}`, size: 256}], repository, tags: [tag]})),
    )
    const outputDir = mkdtempSync(path.join(tmpdir(), 'drc-predecessor-'))
    const env = {
      ...pluginEnv,
      DRC_MONGO_URI: services().mongo.uri,
      DRC_REGISTRY_IN_CLUSTER: 'false',
      MONGODB_DB: db,
      OUTPUT_DIR: outputDir,
      REGISTRY_URL: registry.url,
      REPOSITORY: 'dominodatalab',
    }
    const tags = async () => [
      ...(await client.listTags(ENV_REPO)).map((t) => `${ENV_REPO}:${t}`),
      ...(await client.listTags(MODEL_REPO)).map((t) => `${MODEL_REPO}:${t}`),
    ]
    return {e, env, f, fullModelTag, l, liveModelTag, m, outputDir, registryUrl: registry.url, revs, tags}
  }

  it('a model version stored as the <modelId>-vN prefix deletes its full registry tag; the live model stays', async () => {
    const w = await world()
    const r = await runCli(['archived', 'delete', '--model', '--apply', '--force', '--json'], {env: w.env})
    expect(r.code, r.stderr).to.equal(0)
    const out = resultOf<DeletionResult>(r.stdout)
    expect(out.deleted.flatMap((d) => d.tags)).to.deep.equal([w.fullModelTag])
    expect(out.skipped.map((s) => s.reason).join('\n')).not.to.match(/not in the registry/)
    const left = await w.tags()
    expect(left).not.to.include(`${MODEL_REPO}:${w.fullModelTag}`)
    expect(left).to.include(`${MODEL_REPO}:${w.liveModelTag}`)
    // --model alone selects models only (the predecessor's meaning): no environment image went.
    expect(left.filter((t) => t.startsWith(ENV_REPO)).length).to.equal(4)
  })

  it('selection: neither flag plans environments with a note; --environment --model plans both', async () => {
    const w = await world()
    const none = await runCli(['archived', 'delete', '--json'], {env: w.env})
    expect(none.code, none.stderr).to.equal(0)
    expect(planned(resultOf(none.stdout))).to.deep.equal([`${w.e}-1`, `${w.e}-2`, `${w.f}-1`].sort())
    const text = await runCli(['archived', 'delete'], {env: w.env})
    expect(text.stderr).to.match(/neither --environment nor --model given: archived environments only/)
    const both = await runCli(['archived', 'delete', '--environment', '--model', '--json'], {env: w.env})
    expect(both.code, both.stderr).to.equal(0)
    expect(planned(resultOf(both.stdout))).to.deep.equal([`${w.e}-1`, `${w.e}-2`, `${w.f}-1`, w.fullModelTag].sort())
  })

  it('alias delete_archived_tags takes the predecessor flags; --output writes the report there; --input replays it', async () => {
    const w = await world()
    const output = path.join(w.outputDir, 'archived-tags.json')
    const env = {...w.env, REGISTRY_URL: 'http://127.0.0.1:9', REPOSITORY: 'elsewhere'}
    const args = ['--environment', '--registry-url', w.registryUrl, '--repository', 'dominodatalab']
    const dry = await runCli(['delete_archived_tags', ...args, '--output', output, '--json'], {env})
    expect(dry.code, dry.stderr).to.equal(0)
    const written = JSON.parse(readFileSync(output, 'utf8')) as {data: DeletionResult}
    expect(planned(written.data)).to.deep.equal([`${w.e}-1`, `${w.e}-2`, `${w.f}-1`].sort())

    // Replaying a report narrows the plan to its tags (here: one tag of the predecessor's archived-tags.json).
    const legacy = path.join(w.outputDir, 'legacy.json')
    writeFileSync(
      legacy,
      JSON.stringify({archived_tags: [{image_type: 'environment', object_id: w.e, tag: `${w.e}-2`}]}),
    )
    const replay = await runCli(['delete_archived_tags', ...args, '--input', legacy, '--apply', '--force', '--json'], {
      env,
    })
    expect(replay.code, replay.stderr).to.equal(0)
    expect(resultOf<DeletionResult>(replay.stdout).deleted.flatMap((d) => d.tags)).to.deep.equal([`${w.e}-2`])
    // drc's own report replays too: what is left of it is e-1 and f-1.
    const again = await runCli(['archived', 'delete', '--input', output, '--json'], {env: w.env})
    expect(again.code, again.stderr).to.equal(0)
    expect(planned(resultOf(again.stdout))).to.deep.equal([`${w.e}-1`, `${w.f}-1`].sort())
    // --run-registry-gc is the core's flag now: on this external registry GC does not run, and the audit says why.
    const gc = await runCli(['delete_archived_tags', ...args, '--run-registry-gc', '--apply', '--force', '--json'], {
      env,
    })
    expect(gc.code, gc.stderr).to.equal(0)
    expect(resultOf<DeletionResult>(gc.stdout).gc?.ran).to.equal(false)
  })

  it('--input ObjectId file: only the objects it names, archived now; a bad line refuses (exit 2)', async () => {
    const w = await world()
    const ids = path.join(w.outputDir, 'ids.txt')
    // l is live: naming it never plans it. m is a model: with no flag, the file's kinds select models too.
    writeFileSync(
      ids,
      `# ids\nenvironment_revision:${w.revs.e1}\nenvironment:${w.f}\nenvironment:${w.l}\nmodel:${w.m}\n`,
    )
    const r = await runCli(['archived', 'delete', '--input', ids, '--json'], {env: w.env})
    expect(r.code, r.stderr).to.equal(0)
    expect(planned(resultOf(r.stdout))).to.deep.equal([`${w.e}-1`, `${w.f}-1`, w.fullModelTag].sort())
    writeFileSync(ids, `environment:${w.e}\nnot-an-id\n`)
    const bad = await runCli(['archived', 'delete', '--input', ids, '--json'], {env: w.env})
    expect(bad.code, bad.stderr).to.equal(2)
    expect(bad.stderr + bad.stdout).to.match(/ids\.txt:2/)
  })
})
