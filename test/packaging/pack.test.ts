import {expect} from 'chai'
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {REPO_ROOT} from '../support/cli.js'
import {tarballFile} from '../support/npm-mirror.js'
import {assertPublishable, packTarball, unwantedFiles} from '../support/npm-registry.js'

interface Manifest {
  commands: Record<string, {pluginName?: string; pluginType?: string}>
}

const PLUGIN_DIRS = ['plugins/archived', 'plugins/deactivated', 'plugins/references', 'plugins/unused']
const rootPjson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  oclif: {jitPlugins: Record<string, string>}
}

describe('packaging: npm pack without network', function () {
  this.timeout(600_000)

  it('packs the CLI offline with its JIT plugins in the manifest and no build state or tests', () => {
    // The registry is 127.0.0.1:9 (nothing listens): `oclif manifest` fetching the JIT plugins would fail here.
    const dest = mkdtempSync(path.join(tmpdir(), 'drc-pack-'))
    const {files, tarball} = packTarball(REPO_ROOT, dest)
    expect(unwantedFiles(files)).to.deep.equal([])
    expect(files).to.include.members(['oclif.manifest.json', 'bin/run.js', 'dist/hooks/jit-plugin-not-installed.js'])
    const manifest = JSON.parse(tarballFile(readFileSync(tarball), 'oclif.manifest.json')!.toString()) as Manifest
    for (const name of Object.keys(rootPjson.oclif.jitPlugins)) {
      const commands = Object.values(manifest.commands).filter((c) => c.pluginName === name)
      expect(commands.length, `${name} commands in the CLI manifest`).to.be.greaterThan(0)
      for (const c of commands) expect(c.pluginType).to.equal('jit')
    }

    expect(manifest.commands.health.pluginType).to.equal('core')
  })

  it('packs the library packages/core offline: its dist (the subpath exports), no build state or tests', () => {
    const files = assertPublishable(path.join(REPO_ROOT, 'packages/core'))
    // What the CLI, the plugins and the README example import: `@drc/core` and `@drc/core/<concern>/<module>.js`.
    expect(files).to.include.members(['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/lib/base-command.js'])
    expect(
      files.filter((f) => !f.startsWith('dist/') && f !== 'package.json' && !/^(README|LICENSE)/i.test(f)),
    ).to.deep.equal([])
  })

  for (const dir of [...PLUGIN_DIRS, 'examples/old-revisions']) {
    it(`packs ${dir} offline with its manifest and no build state or tests`, () => {
      const files = assertPublishable(path.join(REPO_ROOT, dir))
      expect(files).to.include('oclif.manifest.json')
      expect(files.some((f) => f.startsWith('dist/commands/'))).to.equal(true)
    })
  }

  it('flags build state and tests as unwanted in a file list', () => {
    const listed = ['dist/.tsbuildinfo', 'test/a.test.ts', 'src/x.test.ts', 'dist/index.js', 'dist/testing.js']
    expect(unwantedFiles(listed)).to.deep.equal(['dist/.tsbuildinfo', 'test/a.test.ts', 'src/x.test.ts'])
  })
})
