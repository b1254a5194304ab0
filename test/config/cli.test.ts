import {expect} from 'chai'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {runCli} from '../support/cli.js'

const SECRET = 's3cretPW'
// Parses as a URL prefix, but not for the driver: a port out of range.
const BAD_URI = `mongodb://admin:${SECRET}@mongo.example:99999/domino`

describe('configuration errors through bin/run.js (exit 2, on stderr, no secret)', function () {
  this.timeout(60_000)
  const cwd = mkdtempSync(path.join(tmpdir(), 'drc-config-cli-'))

  it('drc config show: the table on stdout, the mongo.uri error on stderr, exit 2', () => {
    const r = runCli(['config', 'show'], {cwd, env: {DRC_MONGO_URI: BAD_URI}})
    expect(r.code).to.equal(2)
    expect(r.stderr).to.include('error: mongo.uri: MongoDB URI does not parse')
    expect(r.stdout).to.include('mongo.uri')
    expect(r.stdout).not.to.include('error:')
    expect(r.stdout).not.to.include('does not parse')
    expect(r.stdout + r.stderr).not.to.include(SECRET)
  })

  it('drc config show --json: the JSON (with the error) is the output, exit 2', () => {
    const r = runCli(['config', 'show', '--json'], {cwd, env: {DRC_MONGO_URI: BAD_URI}})
    expect(r.code).to.equal(2)
    const out = (r.json() as {result: unknown}).result as {
      errors: Array<{message: string; path: string}>
      valid: boolean
    }
    expect(out.valid).to.equal(false)
    expect(out.errors.map((e) => e.path)).to.deep.equal(['mongo.uri'])
    expect(r.stdout + r.stderr).not.to.include(SECRET)
  })

  it('a command that needs the configuration refuses a mongo.uri that does not parse (exit 2, names the key)', () => {
    const r = runCli(['usage', 'report'], {cwd, env: {DRC_MONGO_URI: BAD_URI}})
    expect(r.code).to.equal(2)
    expect(r.stdout).to.equal('')
    expect(r.stderr).to.include('invalid configuration: mongo.uri: MongoDB URI does not parse')
    expect(r.stdout + r.stderr).not.to.include(SECRET)
    // Under --json the error JSON is the output (stdout), with the same exit code.
    const j = runCli(['usage', 'report', '--json'], {cwd, env: {DRC_MONGO_URI: BAD_URI}})
    expect(j.code).to.equal(2)
    expect((j.json() as {message: string}).message).to.include('mongo.uri')
    expect(j.stdout + j.stderr).not.to.include(SECRET)
  })

  it('drc health reports the mongo.uri problem as the configuration check', () => {
    const r = runCli(['health', '--check', 'configuration'], {cwd, env: {DRC_MONGO_URI: BAD_URI}})
    expect(r.code).to.equal(3)
    expect(r.stdout).to.include('mongo.uri: MongoDB URI does not parse')
    expect(r.stdout + r.stderr).not.to.include(SECRET)
  })

  it('a YAML syntax error keeps its reason and line/column', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'drc-config-cli-'))
    writeFileSync(path.join(dir, 'drc.config.yaml'), `registry:\n  url: x\n  password: ${SECRET}\n  repo: [open\n`)
    const r = runCli(['config', 'show'], {cwd: dir})
    expect(r.code).to.equal(2)
    expect(r.stderr).to.match(
      /cannot parse configuration file .*drc\.config\.yaml: .*flow collection at line 5, column 1/,
    )
    expect(r.stdout + r.stderr).not.to.include(SECRET)
  })
})
