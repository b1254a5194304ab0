import {expect} from 'chai'
import {mkdtempSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {KEYS} from '../../packages/core/src/config/keys.js'
import {loadConfig} from '../../packages/core/src/config/load.js'
import {starterConfigYaml} from '../../packages/core/src/config/starter.js'
import {runCli} from '../support/cli.js'

// No key may come from the test runner's environment: the file alone must make the configuration valid.
const CLEAN_ENV = Object.fromEntries(KEYS.flatMap((k) => k.env ?? []).map((e) => [e, undefined]))
const cli = (args: string[], cwd: string) => runCli(args, {cwd, env: {...CLEAN_ENV, CONFIG_FILE: undefined}})

interface ShowResult {
  errors: unknown[]
  valid: boolean
  values: Array<{path: string; source: string}>
  warnings: unknown[]
}

describe('drc config init', () => {
  describe('through bin/run.js', function () {
    this.timeout(60_000)

    it('writes drc.config.yaml in the working directory that drc config show loads as valid', () => {
      const cwd = mkdtempSync(path.join(tmpdir(), 'drc-init-'))
      const r = cli(['config', 'init'], cwd)
      expect(r.code, r.stderr).to.equal(0)
      const file = path.join(cwd, 'drc.config.yaml')
      expect(statSync(file).mode.toString(8).slice(-3)).to.equal('600')
      const show = cli(['config', 'show', '--config', file, '--json'], cwd)
      expect(show.code, show.stdout + show.stderr).to.equal(0)
      const {result} = show.json() as {result: ShowResult}
      expect(result).to.deep.include({errors: [], valid: true, warnings: []})
      const fromFile = result.values.filter((v) => v.source === `file:${file}`).map((v) => v.path)
      expect(fromFile).to.deep.equal([
        'registry.url',
        'mongo.host',
        'mongo.port',
        'mongo.replicaset',
        'mongo.db',
        'mongo.username',
      ])
    })

    it('refuses to overwrite without --force (exit 2); --force overwrites; --json prints the path', () => {
      const cwd = mkdtempSync(path.join(tmpdir(), 'drc-init-'))
      const file = path.join(cwd, 'prod.yaml')
      writeFileSync(file, 'registry:\n  url: mine:5000\n')
      const refused = cli(['config', 'init', '--output', 'prod.yaml'], cwd)
      expect(refused.code).to.equal(2)
      expect(refused.stderr).to.include('already exists').and.include('--force')
      expect(readFileSync(file, 'utf8')).to.equal('registry:\n  url: mine:5000\n')
      const forced = cli(['config', 'init', '--output', 'prod.yaml', '--force', '--json'], cwd)
      expect(forced.code, forced.stderr).to.equal(0)
      expect((forced.json() as {result: unknown}).result).to.deep.equal({path: file})
      expect(readFileSync(file, 'utf8')).to.equal(starterConfigYaml())
    })

    it('--backups also sets s3.bucket and s3.region, still valid', () => {
      const cwd = mkdtempSync(path.join(tmpdir(), 'drc-init-'))
      expect(cli(['config', 'init', '--backups'], cwd).code).to.equal(0)
      const show = cli(['config', 'show', '--json'], cwd)
      expect(show.code, show.stdout).to.equal(0)
      const {values} = (show.json() as {result: ShowResult}).result
      const s3 = values.filter((v) => v.path.startsWith('s3.') && v.source.startsWith('file:')).map((v) => v.path)
      expect(s3).to.deep.equal(['s3.bucket', 's3.region'])
    })
  })

  describe('the starter file', () => {
    const text = starterConfigYaml()

    it('lists every key of the table with its meaning and default', () => {
      const lines = text.split('\n')
      for (const k of KEYS) {
        const [section, key] = k.path.split('.')
        const at = lines.findIndex((l, i) => new RegExp(`^  (# )?${key}:`).test(l) && isIn(lines, i, section))
        expect(at, k.path).to.be.greaterThan(0)
        const before = lines.slice(0, at).reverse()
        const about = before.slice(
          0,
          before.findIndex((l) => !l.startsWith('  # ') || /^ {2}# [a-z_]+:/.test(l)),
        )
        const words = [...about]
          .reverse()
          .map((l) => l.slice(4))
          .join(' ')
        expect(words, k.path).to.include(k.description.split(' ').slice(0, 4).join(' ')).and.include('Default: ')
      }
    })

    it('every commented key can be uncommented and still loads without problems', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'drc-init-'))
      const all = text.replaceAll(/^# (\w+:)$/gm, '$1').replaceAll(/^ {2}# ([a-z_]+:.*)$/gm, '  $1')
      writeFileSync(path.join(dir, 'drc.config.yaml'), all)
      const {errors, sources, warnings} = await loadConfig({cwd: dir, env: {}})
      expect(errors).to.deep.equal([])
      expect(warnings).to.deep.equal([])
      expect(Object.values(sources).every((s) => s.startsWith('file:'))).to.equal(true)
    })
  })
})

function isIn(lines: string[], i: number, section: string): boolean {
  for (let j = i; j >= 0; j--) if (/^(# )?\w+:$/.test(lines[j])) return lines[j].replace('# ', '') === `${section}:`
  return false
}
