import {expect} from 'chai'
import {randomUUID} from 'node:crypto'
import {mkdtempSync, writeFileSync} from 'node:fs'
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

/**
 * The guards every strategy gets, through `drc archived delete` (bin/run.js) against a real registry and FerretDB:
 * the deletion budget, the empty-repository guard, protect rules, security.dry_run_by_default.
 */
describe('@drc/plugin-archived: budgets, empty repositories, protect rules, dry_run_by_default (real services)', function () {
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
   * Archived environments E (revisions 1–3) and F (1), a live environment L (1), an archived model M of project P
   * (one version): every image pushed. The model repository holds only M's image.
   */
  async function world(config = '') {
    const {ObjectId} = await import('mongodb')
    const o = (h: string) => ObjectId.createFromHexString(h)
    const [e, f, l, m, v, p] = Array.from({length: 6}, () => oldId())
    const modelTag = `${m}-v1-2025108131540_abcd1234`
    const rev = (env: string, n: number) => ({
      _id: o(oldId()),
      environmentId: o(env),
      metadata: {dockerImageName: {repository: ENV_REPO, tag: `${env}-${n}`}, isBuilt: true},
    })
    const db = `archived_guards_${randomUUID().slice(0, 8)}`
    await seedDocs(db, {
      environment_revisions: [rev(e, 1), rev(e, 2), rev(e, 3), rev(f, 1), rev(l, 1)],
      environments_v2: [
        {_id: o(e), isArchived: true, name: 'e'},
        {_id: o(f), isArchived: true, name: 'f'},
        {_id: o(l), isArchived: false, name: 'l'},
      ],
      model_versions: [
        {
          _id: o(v),
          metadata: {builds: [{slug: {image: {repository: MODEL_REPO, tag: modelTag}}}]},
          modelId: {value: o(m)},
        },
      ],
      models: [{_id: o(m), isArchived: true, name: 'm', projectId: o(p)}],
      projects: [{_id: o(p), isArchived: false, name: 'p'}],
    })
    registry = await startRegistry()
    const client = testClient(registry.url)
    const refs: Array<[string, string]> = [
      [ENV_REPO, `${e}-1`],
      [ENV_REPO, `${e}-2`],
      [ENV_REPO, `${e}-3`],
      [ENV_REPO, `${f}-1`],
      [ENV_REPO, `${l}-1`],
      [MODEL_REPO, modelTag],
    ]
    await pushImages(
      client,
      refs.map(([repository, tag]) => ({layers: [{seed: `g-${tag}`, size: 256}], repository, tags: [tag]})),
    )
    const outputDir = mkdtempSync(path.join(tmpdir(), 'drc-guards-'))
    const configFile = path.join(outputDir, 'drc.yaml')
    writeFileSync(configFile, config)
    const env = {
      ...pluginEnv,
      CONFIG_FILE: configFile,
      DRC_MONGO_URI: services().mongo.uri,
      DRC_REGISTRY_IN_CLUSTER: 'false',
      MONGODB_DB: db,
      OUTPUT_DIR: outputDir,
      REGISTRY_URL: registry.url,
      REPOSITORY: 'dominodatalab',
    }
    const tags = async () => [
      ...(await client.listTags(ENV_REPO)).map((t) => `${ENV_REPO}:${t}`),
      ...(await client.listTags(MODEL_REPO).catch(() => [])).map((t) => `${MODEL_REPO}:${t}`),
    ]
    return {e, env, f, l, m, modelTag, p, tags}
  }

  it('--max-delete N (and security.max_delete) refuses a larger plan with exit 2 before anything changes', async () => {
    const w = await world('security:\n  max_delete: 3\n')
    const before = await w.tags()
    const flag = await runCli(['archived', 'delete', '--apply', '--force', '--max-delete', '2'], {env: w.env})
    expect(flag.code, flag.stderr).to.equal(2)
    expect(flag.stderr).to.match(/the plan deletes 4 manifests, more than --max-delete = 2/)
    const config = await runCli(['archived', 'delete', '--apply', '--force'], {env: w.env})
    expect(config.code, config.stderr).to.equal(2)
    expect(config.stderr).to.match(/the plan deletes 4 manifests, more than security.max_delete = 3/)
    expect(await w.tags()).to.deep.equal(before)
    // The dry run still shows the plan, and says --apply would be refused.
    const dry = await runCli(['archived', 'delete', '--json'], {env: w.env})
    expect(dry.code, dry.stderr).to.equal(0)
    const plan = resultOf<DeletionResult>(dry.stdout)
    expect(plan.planned.length).to.equal(4)
    expect(plan.warnings.join('\n')).to.match(/--apply would be refused: the plan deletes 4 manifests/)
    // Within the budget it runs.
    const ok = await runCli(['archived', 'delete', '--apply', '--force', '--max-delete', '4'], {env: w.env})
    expect(ok.code, ok.stderr).to.equal(0)
    expect(await w.tags()).to.deep.equal([`${ENV_REPO}:${w.l}-1`, `${MODEL_REPO}:${w.modelTag}`])
  })

  it('a plan that empties a repository needs --allow-empty-repository (exit 2 naming it)', async () => {
    const w = await world()
    const before = await w.tags()
    const refused = await runCli(['archived', 'delete', '--environment', '--model', '--apply', '--force'], {env: w.env})
    expect(refused.code, refused.stderr).to.equal(2)
    expect(refused.stderr).to.match(
      /the plan deletes every tag of dominodatalab\/model \(1\); --allow-empty-repository/,
    )
    expect(refused.stderr).not.to.match(/every tag of dominodatalab\/environment/)
    expect(await w.tags()).to.deep.equal(before)
    const allowed = await runCli(
      ['archived', 'delete', '--environment', '--model', '--apply', '--force', '--allow-empty-repository'],
      {
        env: w.env,
      },
    )
    expect(allowed.code, allowed.stderr).to.equal(0)
    expect(await w.tags()).to.deep.equal([`${ENV_REPO}:${w.l}-1`])
  })

  it('protect rules always win; the plan names the rule that kept each image', async () => {
    const w = await world()
    const protect = `protect:\n  tags: ["*-2"]\n  environment_ids: ["${'F'}"]\n  project_ids: ["${'P'}"]\n`
    writeFileSync(w.env.CONFIG_FILE, protect.replace('F', w.f.toUpperCase()).replace('P', w.p))
    const dry = await runCli(['archived', 'delete', '--environment', '--model', '--json'], {env: w.env})
    expect(dry.code, dry.stderr).to.equal(0)
    const plan = resultOf<DeletionResult>(dry.stdout)
    const why = (tag: string) => plan.skipped.find((s) => 'tag' in s && s.tag === tag)?.reason
    expect(why(`${w.e}-2`)).to.equal('protected by protect.tags "*-2"')
    expect(why(`${w.f}-1`)).to.equal(`protected by protect.environment_ids ${w.f}`)
    expect(why(w.modelTag)).to.equal(`protected by protect.project_ids: project ${w.p} names model ${w.m}`)
    expect(plan.planned.flatMap((i) => i.tags).sort()).to.deep.equal([`${w.e}-1`, `${w.e}-3`].sort())

    const applied = await runCli(['archived', 'delete', '--environment', '--model', '--apply', '--force', '--json'], {
      env: w.env,
    })
    expect(applied.code, applied.stderr).to.equal(0)
    expect((await w.tags()).sort()).to.deep.equal(
      [`${ENV_REPO}:${w.e}-2`, `${ENV_REPO}:${w.f}-1`, `${ENV_REPO}:${w.l}-1`, `${MODEL_REPO}:${w.modelTag}`].sort(),
    )
  })

  it('security.dry_run_by_default: false applies without --apply; --dry-run still only plans', async () => {
    const w = await world('security:\n  dry_run_by_default: false\n')
    const before = await w.tags()
    const both = await runCli(['archived', 'delete', '--apply', '--dry-run'], {env: w.env})
    expect(both.code, both.stderr).to.equal(2)
    expect(both.stderr).to.match(/--apply and --dry-run contradict/)
    const dry = await runCli(['archived', 'delete', '--dry-run', '--json'], {env: w.env})
    expect(dry.code, dry.stderr).to.equal(0)
    expect(resultOf<DeletionResult>(dry.stdout).apply).to.equal(false)
    expect(await w.tags()).to.deep.equal(before)
    // Applying still follows the confirmation rules: no terminal and no --force is refused.
    const noForce = await runCli(['archived', 'delete'], {env: w.env})
    expect(noForce.code, noForce.stderr).to.equal(2)
    expect(noForce.stderr).to.match(/--force/)
    const applied = await runCli(['archived', 'delete', '--force', '--json'], {env: w.env})
    expect(applied.code, applied.stderr).to.equal(0)
    expect(resultOf<DeletionResult>(applied.stdout).apply).to.equal(true)
    expect(await w.tags()).to.deep.equal([`${ENV_REPO}:${w.l}-1`, `${MODEL_REPO}:${w.modelTag}`])
  })
})
