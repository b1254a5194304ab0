import {expect} from 'chai'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {isolatedOclifEnv, REPO_ROOT, runCli} from '../support/cli.js'

const STRATEGIES = ['archived', 'deactivated', 'references', 'unused']

describe('drc binary: core commands, strategy plugins, autocomplete', () => {
  it('lists the core commands and names the package of each strategy before any is installed', () => {
    const env = isolatedOclifEnv()
    const help = runCli(['--help'], {env})
    expect(help.code).to.equal(0)
    for (const topic of ['config', 'health', 'reports', 'usage'])
      expect(help.stdout).to.match(new RegExp(`^\\s+${topic}\\s`, 'm'))
    for (const s of STRATEGIES) expect(help.stdout).not.to.match(new RegExp(`^\\s+${s}\\s`, 'm'))
    const plugins = runCli(['plugins'], {env})
    // With oclif.scope the list shows the short name (`archived`, installable as @drc/plugin-archived).
    for (const s of STRATEGIES) expect(plugins.stdout).to.match(new RegExp(`^(@drc/plugin-)?${s} \\d`, 'm'))
    expect(plugins.stdout).to.contain('Uninstalled JIT Plugins')
  })

  it('adds a strategy topic on link and removes it on unlink, and the CLI still runs', () => {
    const env = isolatedOclifEnv()
    for (const s of STRATEGIES) {
      const r = runCli(['plugins', 'link', path.join(REPO_ROOT, 'plugins', s), '--no-install'], {env})
      expect(r.code, r.stderr).to.equal(0)
    }

    const linked = runCli(['plugins', '--json'], {env})
    const names = (linked.json() as Array<{name: string; type: string}>)
      .filter((p) => p.type === 'link')
      .map((p) => p.name)
    expect(names.sort()).to.deep.equal(STRATEGIES.map((s) => `@drc/plugin-${s}`))
    const help = runCli(['--help'], {env})
    for (const s of STRATEGIES) expect(help.stdout).to.match(new RegExp(`^\\s+${s}\\s`, 'm'))

    const unlink = runCli(['plugins', 'unlink', '@drc/plugin-archived'], {env})
    expect(unlink.code, unlink.stderr).to.equal(0)
    const after = runCli(['--help'], {env})
    expect(after.code).to.equal(0)
    expect(after.stdout).not.to.match(/^\s+archived\s/m)
    expect(after.stdout).to.match(/^\s+unused\s/m)
    expect(runCli(['config', 'show', '--json'], {env}).code).to.equal(0)
  })

  it('prints shell autocomplete setup instructions', () => {
    const r = runCli(['autocomplete', 'bash'], {env: isolatedOclifEnv()})
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.contain('drc autocomplete')
    expect(r.stdout).to.match(/bashrc/)
  })

  it('config show --json gives every key with its source and redacts secrets', () => {
    const r = runCli(['config', 'show', '--json'], {
      env: {
        ...isolatedOclifEnv(),
        DRC_MONGO_URI: 'mongodb://admin:hunter2@db:27017/',
        MONGODB_PASSWORD: 'hunter2',
        REGISTRY_URL: 'reg.example:5000',
      },
    })
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).not.to.contain('hunter2')
    const out = (r.json() as {result: unknown}).result as {
      valid: boolean
      values: Array<{path: string; source: string; value: unknown}>
    }
    expect(out.valid).to.equal(true)
    const byPath = new Map(out.values.map((v) => [v.path, v]))
    expect(byPath.get('registry.url')).to.deep.equal({
      path: 'registry.url',
      source: 'env:REGISTRY_URL',
      value: 'reg.example:5000',
    })
    expect(byPath.get('mongo.password')?.value).to.equal('***')
    expect(byPath.get('mongo.uri')?.value).to.equal('mongodb://admin:***@db:27017/')
  })

  it('gives a one-line error naming the key and the rule for a bad configuration, exit code 2', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'drc-badcfg-'))
    const file = path.join(dir, 'drc.config.yaml')
    writeFileSync(file, 'mongo:\n  port: not-a-number\n')
    const show = runCli(['config', 'show'], {cwd: dir, env: isolatedOclifEnv()})
    expect(show.code).to.equal(2)
    expect(show.stderr).to.contain('error: mongo.port: MongoDB port must be an integer, got: not-a-number')
    const help = runCli(['config', 'show', '--help'], {cwd: dir, env: isolatedOclifEnv()})
    expect(help.code).to.equal(0)
  })

  it("hides the predecessor's snake_case names from help, runs them, and names them in the command's help", () => {
    const env = isolatedOclifEnv()
    const aliases = {
      find_environment_usage: 'usage find',
      health_check: 'health',
      image_size_report: 'report image-size',
      user_size_report: 'report user-size',
    }
    const root = runCli(['--help'], {env})
    const topics = ['report', 'usage'].map((t) => runCli([t, '--help'], {env}).stdout).join('\n')
    for (const [alias, command] of Object.entries(aliases)) {
      expect(root.stdout + topics, alias).not.to.contain(alias)
      const help = runCli([...command.split(' '), '--help'], {env})
      expect(help.stdout.replaceAll(/\s+/g, ' '), command).to.contain(`drc ${alias}`)
      const viaAlias = runCli([alias, '--help'], {env})
      expect(viaAlias.code, alias).to.equal(0)
      expect(viaAlias.stdout.replaceAll(/\s+/g, ' '), alias).to.contain(`drc ${alias}`)
    }
  })

  it('has the standard oclif commands: commands, version, which, and "did you mean" for a typo', () => {
    const env = isolatedOclifEnv()
    const ids = (runCli(['commands', '--json'], {env}).json() as Array<{id: string}>).map((c) => c.id)
    expect(ids).to.include.members(['reports', 'health', 'commands', 'version', 'which'])
    expect(runCli(['version'], {env}).stdout).to.match(/^drc\/\d+\.\d+\.\d+ /)
    const which = runCli(['which', 'reports'], {env})
    expect(which.code, which.stderr).to.equal(0)
    expect(which.stdout).to.match(/plugin: drc/)
    // Not a terminal: plugin-not-found warns and exits 127 (on a terminal it asks "Did you mean reports?").
    const typo = runCli(['repots'], {env})
    expect(typo.code).to.equal(127)
    expect(typo.stderr).to.contain('repots is not a drc command')
  })

  it('help of every command reads at 80 columns: description and flags wrapped by oclif', () => {
    const env = {...isolatedOclifEnv(), COLUMNS: '80'}
    for (const p of STRATEGIES) runCli(['plugins', 'link', path.join(REPO_ROOT, 'plugins', p), '--no-install'], {env})
    const listed = runCli(['commands', '--json'], {env}).json() as Array<{id: string; pluginName: string}>
    const ours = listed.filter((c) => !c.pluginName.startsWith('@oclif/'))
    expect(ours.length).to.be.above(10)
    for (const c of ours) {
      const help = runCli([...c.id.split(':'), '--help'], {env})
      expect(help.code, c.id).to.equal(0)
      // EXAMPLES are commands (oclif does not wrap them); everything before them must fit.
      const body = help.stdout.split('\nEXAMPLES\n')[0]
      const long = body.split('\n').filter((l) => l.length > 80)
      expect(long, `${c.id} --help at 80 columns`).to.deep.equal([])
    }
  })
})
