import {expect} from 'chai'
import {spawnSync} from 'node:child_process'

import {BIN, isolatedOclifEnv, REPO_ROOT} from '../support/cli.js'

// Only the configuration check: it needs no service, so the test is about progress, not health.
const ARGS = ['health', '--check', 'configuration', '--registry-url', 'registry.example.com', '--repository', 'acme']
const env = {...process.env, ...isolatedOclifEnv(), FORCE_COLOR: '0', NO_COLOR: '1'}
const PROGRESS = /health: configuration healthy \(\d+(\.\d)? m?s\)/

/** Issue 9 part 3: progress on stderr, per step; on a terminal, without one (a line per step), never under --json. */
describe('progress lines (bin/run.js)', function () {
  this.timeout(60_000)

  it('drc health under a pseudo-terminal shows each check as it finishes, with its time', () => {
    const command = [process.execPath, BIN, ...ARGS].map((a) => `'${a}'`).join(' ')
    const r = spawnSync('script', ['-qec', command, '/dev/null'], {cwd: REPO_ROOT, encoding: 'utf8', env})
    expect(r.status, r.stdout).to.equal(0)
    expect(r.stdout).to.match(PROGRESS)
  })

  it('without a terminal: one line per step on stderr, none on stdout; --json: no progress at all', () => {
    const plain = spawnSync(process.execPath, [BIN, ...ARGS], {cwd: REPO_ROOT, encoding: 'utf8', env})
    expect(plain.status, plain.stderr).to.equal(0)
    expect(plain.stderr.match(new RegExp(PROGRESS, 'g'))).to.have.length(1)
    expect(plain.stdout).not.to.match(PROGRESS)
    const json = spawnSync(process.execPath, [BIN, ...ARGS, '--json'], {cwd: REPO_ROOT, encoding: 'utf8', env})
    expect(json.status, json.stderr).to.equal(0)
    expect(json.stderr).not.to.match(/health:/)
    expect(JSON.parse(json.stdout).result.healthy).to.equal(true)
  })
})
