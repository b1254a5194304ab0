import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {isolatedOclifEnv, REPO_ROOT} from '../support/cli.js'

interface Manifest {
  commands: Record<string, {pluginName?: string; pluginType?: string}>
}

/** A CLI directory beside the checkout (its dist linked, its package.json editable), so the repo is left alone. */
function stagedCli(edit: (pjson: {oclif: {jitPlugins: Record<string, string>}}) => void = () => {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'drc-staged-cli-'))
  const pjson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'))
  edit(pjson)
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pjson, null, 2))
  mkdirSync(path.join(dir, 'bin'))
  copyFileSync(path.join(REPO_ROOT, 'bin/run.js'), path.join(dir, 'bin/run.js'))
  symlinkSync(path.join(REPO_ROOT, 'dist'), path.join(dir, 'dist'))
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'))
  return dir
}

function writeManifest(cliDir: string): {code: null | number; output: string} {
  const script = path.join(REPO_ROOT, 'scripts/manifest.ts')
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', script, cliDir, '--plugins', path.join(REPO_ROOT, 'plugins')],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    },
  )
  return {code: r.status, output: r.stdout + r.stderr}
}

describe('scripts/manifest.ts (the CLI manifest with local JIT plugins)', function () {
  this.timeout(120_000)

  it('adds every local JIT plugin command, marked jit, to the CLI commands', () => {
    const dir = stagedCli()
    const r = writeManifest(dir)
    expect(r.code, r.output).to.equal(0)
    const manifest = JSON.parse(readFileSync(path.join(dir, 'oclif.manifest.json'), 'utf8')) as Manifest
    expect(manifest.commands['unused:list']).to.include({pluginName: '@drc/plugin-unused', pluginType: 'jit'})
    expect(manifest.commands['archived:delete']).to.include({pluginName: '@drc/plugin-archived', pluginType: 'jit'})
    expect(manifest.commands['usage:find']).to.include({pluginName: 'drc', pluginType: 'core'})
  })

  it('a JIT command of a plugin that is not installed: the --json error envelope, or text naming the install', () => {
    const dir = stagedCli()
    expect(writeManifest(dir).code).to.equal(0)
    const run = (args: string[]) =>
      spawnSync(process.execPath, [path.join(dir, 'bin/run.js'), ...args], {
        cwd: dir,
        encoding: 'utf8',
        env: {...process.env, ...isolatedOclifEnv(), NO_COLOR: '1'},
        input: '',
      })
    const json = run(['archived', 'list', '--json'])
    expect(json.status, json.stderr).to.equal(2)
    expect(json.stderr).to.equal('')
    const envelope = JSON.parse(json.stdout)
    expect(envelope).to.include({exitCode: 2, name: 'UsageError', status: 2})
    expect(envelope.message).to.equal(
      'drc archived list is provided by @drc/plugin-archived@0.1.0, which is not installed.',
    )
    expect(envelope.actions).to.deep.equal([
      'install it: drc plugins install @drc/plugin-archived@0.1.0',
      'or by its short name: drc plugins install archived',
    ])
    expect(envelope.warnings).to.deep.equal([])
    const text = run(['archived', 'list'])
    expect(text.status).to.equal(2)
    expect(text.stdout).to.equal('')
    expect(text.stderr).to.include('drc plugins install @drc/plugin-archived@0.1.0')
  })

  it('refuses a jitPlugins version that is not the local plugin version', () => {
    const dir = stagedCli((pjson) => {
      pjson.oclif.jitPlugins['@drc/plugin-unused'] = '9.9.9'
    })
    const r = writeManifest(dir)
    expect(r.code).to.equal(1)
    expect(r.output).to.include('pins @drc/plugin-unused@9.9.9').and.include('make them equal')
  })

  it('refuses a JIT plugin that is not in the plugins directory', () => {
    const dir = stagedCli((pjson) => {
      pjson.oclif.jitPlugins['@drc/plugin-nowhere'] = '0.1.0'
    })
    const r = writeManifest(dir)
    expect(r.code).to.equal(1)
    expect(r.output).to.include('no package under the plugins directory is named @drc/plugin-nowhere')
  })
})
