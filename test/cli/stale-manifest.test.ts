import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {isolatedOclifEnv, REPO_ROOT} from '../support/cli.js'

const MANIFEST = 'oclif.manifest.json'

/**
 * A CLI directory whose manifest lacks `health` (as one written before `health` existed would), dated an hour
 * before or after its build info; `build: false` is an installed CLI (no *.tsbuildinfo).
 */
function cliWithManifest(opts: {build: boolean; manifest: 'newer' | 'older'}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'drc-stale-manifest-'))
  mkdirSync(path.join(dir, 'bin'))
  mkdirSync(path.join(dir, 'dist'))
  copyFileSync(path.join(REPO_ROOT, 'package.json'), path.join(dir, 'package.json'))
  copyFileSync(path.join(REPO_ROOT, 'bin/run.js'), path.join(dir, 'bin/run.js'))
  for (const sub of ['commands', 'hooks']) symlinkSync(path.join(REPO_ROOT, 'dist', sub), path.join(dir, 'dist', sub))
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'))
  // The real manifest of this CLI, minus one command.
  const gen = spawnSync(
    process.execPath,
    [path.join(REPO_ROOT, 'node_modules/oclif/bin/run.js'), 'manifest', '--no-jit'],
    {
      cwd: dir,
      encoding: 'utf8',
    },
  )
  expect(gen.status, gen.stderr).to.equal(0)
  const manifest = JSON.parse(readFileSync(path.join(dir, MANIFEST), 'utf8')) as {commands: Record<string, unknown>}
  delete manifest.commands.health
  writeFileSync(path.join(dir, MANIFEST), JSON.stringify(manifest))
  const hour = Date.now() / 1000 - 3600
  const [manifestTime, buildTime] = opts.manifest === 'older' ? [hour - 60, hour] : [hour, hour - 60]
  utimesSync(path.join(dir, 'package.json'), buildTime - 30, buildTime - 30)
  if (opts.build) {
    writeFileSync(path.join(dir, 'dist/.tsbuildinfo'), '{}')
    utimesSync(path.join(dir, 'dist/.tsbuildinfo'), buildTime, buildTime)
  }

  utimesSync(path.join(dir, MANIFEST), manifestTime, manifestTime)
  return dir
}

function runIn(dir: string, args: string[]) {
  return spawnSync(process.execPath, [path.join(dir, 'bin/run.js'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: {...process.env, ...isolatedOclifEnv(), NO_COLOR: '1'},
  })
}

const commandIds = (stdout: string) => (JSON.parse(stdout) as Array<{id: string}>).map((c) => c.id)

// bin/run.js (dist/hooks/stale-manifest.js): `npm run build` writes the manifest, `npx tsc -b` alone does not.
describe('bin/run.js and a checkout manifest older than its last build', function () {
  this.timeout(120_000)
  const dirs: string[] = []

  after(() => {
    for (const d of dirs) rmSync(d, {force: true, recursive: true})
  })

  it('deletes a manifest older than the build and lists the commands from dist/', () => {
    const dir = cliWithManifest({build: true, manifest: 'older'})
    dirs.push(dir)
    const r = runIn(dir, ['commands', '--json'])
    expect(r.status, r.stderr).to.equal(0)
    expect(commandIds(r.stdout)).to.include('health')
    expect(existsSync(path.join(dir, MANIFEST))).to.equal(false)
  })

  it('uses a manifest newer than the build as it is', () => {
    const dir = cliWithManifest({build: true, manifest: 'newer'})
    dirs.push(dir)
    const r = runIn(dir, ['commands', '--json'])
    expect(r.status, r.stderr).to.equal(0)
    expect(commandIds(r.stdout)).to.include('reports').and.not.include('health')
    expect(existsSync(path.join(dir, MANIFEST))).to.equal(true)
  })

  it('never touches the manifest of an installed CLI (no build info), whatever its date', () => {
    const dir = cliWithManifest({build: false, manifest: 'older'})
    dirs.push(dir)
    const r = runIn(dir, ['commands', '--json'])
    expect(r.status, r.stderr).to.equal(0)
    expect(commandIds(r.stdout)).to.include('reports').and.not.include('health')
    expect(existsSync(path.join(dir, MANIFEST))).to.equal(true)
  })
})
