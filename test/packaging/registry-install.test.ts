import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {factsOf, generateDataset, seedMongo} from '../fixtures/index.js'
import {REPO_ROOT} from '../support/cli.js'
import {services} from '../support/harness.js'
import {seedDependencies} from '../support/npm-mirror.js'
import {installCli, type InstalledCli, installedCli, publishPackage, runNpm} from '../support/npm-registry.js'
import {type LocalRegistry, startVerdaccio} from '../support/verdaccio.js'

/** Runs `argv` under a pseudo-terminal (util-linux `script`), typing `input`: the JIT offer only asks on a TTY. */
function onTerminal(cli: InstalledCli, argv: string[], input: string): {code: null | number; output: string} {
  const command = argv.map((a) => `'${a}'`).join(' ')
  const r = spawnSync('script', ['-qec', command, '/dev/null'], {
    cwd: cli.home,
    encoding: 'utf8',
    env: cli.env,
    input,
    timeout: 300_000,
  })
  return {code: r.status, output: r.stdout + r.stderr}
}

const PUBLISHED_PLUGINS = [
  'plugins/archived',
  'plugins/deactivated',
  'plugins/references',
  'plugins/unused',
  'examples/old-revisions',
]

describe('installing from a real npm registry (verdaccio on 127.0.0.1)', function () {
  this.timeout(900_000)
  let registry: LocalRegistry

  before(async () => {
    registry = await startVerdaccio()
  })

  after(async () => {
    await registry?.stop()
  })

  it('publishes a package and installs it into an empty prefix; anything unpublished is a 404', () => {
    const pkg = mkdtempSync(path.join(tmpdir(), 'drc-hello-'))
    mkdirSync(path.join(pkg, 'bin'))
    const pjson = {bin: {hello: 'bin/hello.js'}, files: ['bin'], name: '@drc-test/hello', version: '1.0.0'}
    writeFileSync(path.join(pkg, 'package.json'), JSON.stringify(pjson))
    writeFileSync(path.join(pkg, 'bin/hello.js'), '#!/usr/bin/env node\nconsole.log("hello from the registry")\n')
    expect(publishPackage(pkg, registry)).to.equal('@drc-test/hello@1.0.0')
    const prefix = mkdtempSync(path.join(tmpdir(), 'drc-prefix-'))
    const installed = runNpm(['install', '--global', '--prefix', prefix, '@drc-test/hello'], registry, {cwd: prefix})
    expect(installed.code, installed.stderr).to.equal(0)
    expect(spawnSync(path.join(prefix, 'bin/hello'), {encoding: 'utf8'}).stdout).to.equal('hello from the registry\n')
    // No uplinks: a package from the public registry is not reachable through this one.
    const missing = runNpm(['view', 'left-pad'], registry, {cwd: prefix})
    expect(missing.code).to.not.equal(0)
    expect(missing.stderr).to.include('E404')
  })

  describe('the CLI and a strategy plugin, published and installed as an operator would', () => {
    let cli: InstalledCli
    const db = 'packaging_registry_install'
    const dataset = generateDataset({
      environments: 6,
      models: 1,
      now: new Date(Date.now() - 60 * 86_400_000),
      revisionsPerEnvironment: 2,
      runs: 20,
      seed: 9,
      users: 2,
      versionsPerModel: 1,
    })

    before(async () => {
      await seedDependencies(registry, path.join(REPO_ROOT, 'package-lock.json'))
      // The order of the README: the library, the CLI that depends on it, then the plugins (which depend on it too).
      expect(publishPackage(path.join(REPO_ROOT, 'packages/core'), registry)).to.equal('@drc/core@0.1.0')
      publishPackage(REPO_ROOT, registry)
      for (const dir of PUBLISHED_PLUGINS) publishPackage(path.join(REPO_ROOT, dir), registry)
      const prefix = mkdtempSync(path.join(tmpdir(), 'drc-prefix-'))
      cli = installedCli(installCli(prefix, registry), registry)
      await seedMongo(services().mongo.uri, db, dataset)
    })

    it('runs from the empty prefix it was installed into', () => {
      const r = cli.run(['--version'])
      expect(r.code, r.stderr).to.equal(0)
      expect(r.stdout).to.match(/^drc\/\d+\.\d+\.\d+ /)
    })

    it('without a terminal, a JIT plugin command exits 2 naming the exact install command', () => {
      const r = cli.run(['unused', 'list'])
      expect(r.code).to.equal(2)
      expect(r.stderr).to.include('drc unused list is provided by @drc/plugin-unused@0.1.0, which is')
      expect(r.stderr).to.include('drc plugins install @drc/plugin-unused@0.1.0')
      expect(r.stderr).to.include('drc plugins install unused')
    })

    it('without the plugin, --json prints the error envelope on stdout and exits 2', () => {
      const r = cli.run(['unused', 'list', '--json'])
      expect(r.code, r.stderr).to.equal(2)
      expect(JSON.parse(r.stdout)).to.deep.equal({
        actions: [
          'install it: drc plugins install @drc/plugin-unused@0.1.0',
          'or by its short name: drc plugins install unused',
        ],
        exitCode: 2,
        message: 'drc unused list is provided by @drc/plugin-unused@0.1.0, which is not installed.',
        name: 'UsageError',
        status: 2,
        warnings: [],
      })
    })

    it('installs @drc/plugin-unused, runs it against MongoDB, uninstalls it, and the CLI still works', () => {
      const install = cli.run(['plugins', 'install', '@drc/plugin-unused'])
      expect(install.code, install.stderr).to.equal(0)
      const env = {DRC_MONGO_URI: services().mongo.uri, MONGODB_DB: db}
      const r = cli.run(['unused', 'list', '--json'], {env})
      expect(r.code, r.stderr).to.equal(0)
      const expected = Object.entries(factsOf(dataset).environmentTagUsage)
        .filter(([, kinds]) => kinds.length === 0)
        .map(([tag]) => tag)
        .sort()
      const listed = (JSON.parse(r.stdout).result as {unused: Array<{tag: string}>}).unused.map((u) => u.tag).sort()
      expect(listed).to.deep.equal(expected)
      expect(cli.run(['plugins', 'uninstall', '@drc/plugin-unused']).code).to.equal(0)
      expect(cli.run(['--version']).code).to.equal(0)
      expect(cli.run(['unused', 'list']).code).to.equal(2)
    })

    it('installs a plugin by its short name (oclif.scope)', () => {
      const install = cli.run(['plugins', 'install', 'unused'])
      expect(install.code, install.stderr).to.equal(0)
      const plugins = cli.run(['plugins', '--json'])
      expect((JSON.parse(plugins.stdout) as Array<{name: string}>).map((p) => p.name)).to.include('@drc/plugin-unused')
      expect(cli.run(['plugins', 'uninstall', 'unused']).code).to.equal(0)
    })

    it('installs the third-party example from another scope, runs it against MongoDB, uninstalls it', () => {
      const install = cli.run(['plugins', 'install', '@acme/drc-plugin-old-revisions'])
      expect(install.code, install.stderr).to.equal(0)
      const env = {DRC_MONGO_URI: services().mongo.uri, MONGODB_DB: db}
      const r = cli.run(['tag-age', 'list', '--pattern', '*', '--older-than-days', '0', '--json'], {env})
      expect(r.code, r.stderr).to.equal(0)
      const {tags} = (JSON.parse(r.stdout) as {result: {tags: Array<{tag: string}>}}).result
      expect(tags.length).to.be.greaterThan(0)
      expect(cli.run(['plugins', 'uninstall', '@acme/drc-plugin-old-revisions']).code).to.equal(0)
      // Not a JIT plugin of the CLI: once removed, its command is simply unknown (plugin-not-found), exit 2 or 127.
      expect(cli.run(['tag-age', 'list']).code).to.not.equal(0)
      expect(cli.run(['--version']).code).to.equal(0)
    })

    it('on a terminal, offers to install a JIT plugin; declined exits 2, accepted installs it and runs the command', () => {
      const env = {DRC_MONGO_URI: services().mongo.uri, MONGODB_DB: db}
      const no = onTerminal({...cli, env: {...cli.env, ...env}}, [cli.bin, 'unused', 'list'], 'n\n')
      expect(no.output).to.include('Install it now?')
      expect(no.code).to.equal(2)
      const yes = onTerminal({...cli, env: {...cli.env, ...env}}, [cli.bin, 'unused', 'list'], 'y\n')
      expect(yes.output).to.include('Install it now?')
      expect(yes.code, yes.output).to.equal(0)
      expect(yes.output).to.match(/unused/i)
      expect(cli.run(['plugins', '--json']).stdout).to.include('@drc/plugin-unused')
    })
  })
})
