import {expect} from 'chai'
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type {DrcConfig} from '../../src/config/types.js'

import {loadConfig} from '../../src/config/load.js'
import {humanBytes, table} from '../../src/reports/format.js'
import {readLatest, timestampSuffix, writeReport} from '../../src/reports/store.js'

describe('reports: files, latest pointer, freshness', () => {
  let dir: string
  let config: DrcConfig

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'drc-reports-'))
    config = (await loadConfig({cwd: dir, env: {OUTPUT_DIR: dir}})).config
  })

  afterEach(() => rmSync(dir, {force: true, recursive: true}))

  it('names files with a UTC timestamp and points <name>-latest.json at the newest', async () => {
    expect(timestampSuffix(new Date('2026-01-15T14:30:05.123Z'))).to.equal('2026-01-15T14-30-05.123Z')
    const a = await writeReport(config, 'demo', {n: 1}, {now: new Date('2026-01-15T14:30:05Z')})
    const b = await writeReport(config, 'demo', {n: 2}, {now: new Date('2026-01-15T15:00:00Z')})
    expect(path.basename(a.path)).to.equal('demo-2026-01-15T14-30-05.000Z.json')
    expect(readlinkSync(path.join(dir, 'demo-latest.json'))).to.equal(path.basename(b.path))
    const envelope = JSON.parse(readFileSync(b.path, 'utf8'))
    expect(envelope).to.deep.include({complete: true, data: {n: 2}, schema: 'demo', schema_version: 1})
    const latest = await readLatest<{n: number}>(config, 'demo', {
      maxAgeHours: 24,
      now: new Date('2026-01-15T16:00:00Z'),
    })
    expect(latest?.envelope.data.n).to.equal(2)
    expect(latest?.fresh).to.equal(true)
    expect(latest?.ageHours).to.equal(1)
  })

  it('three reports of one name in the same millisecond are three files; latest names the last', async () => {
    const now = new Date('2026-01-15T14:30:05.123Z')
    const same = []
    // eslint-disable-next-line no-await-in-loop -- in order, on purpose
    for (let n = 1; n <= 3; n++) same.push(await writeReport(config, 'demo', {n}, {now}))
    // And without an injected clock, as fast as the loop goes.
    const fast = []
    // eslint-disable-next-line no-await-in-loop -- in order, on purpose
    for (let n = 4; n <= 6; n++) fast.push(await writeReport(config, 'fast', {n}))
    for (const [name, written] of [
      ['demo', same],
      ['fast', fast],
    ] as const) {
      const files = readdirSync(dir).filter((f) => f.startsWith(`${name}-`) && !f.endsWith('-latest.json'))
      expect(files).to.have.length(3)
      expect(new Set(written.map((w) => w.path)).size).to.equal(3)
      // Creation order is name order, so the newest file is also the last in a directory listing.
      expect(written.map((w) => path.basename(w.path))).to.deep.equal([...files].sort())
      expect(readlinkSync(path.join(dir, `${name}-latest.json`))).to.equal(path.basename(written[2].path))
      const data = written.map((w) => JSON.parse(readFileSync(w.path, 'utf8')).data.n)
      expect(data).to.deep.equal(name === 'demo' ? [1, 2, 3] : [4, 5, 6])
    }

    expect(path.basename(same[1].path)).to.equal('demo-2026-01-15T14-30-05.124Z.json')
    const latest = await readLatest<{n: number}>(config, 'demo', {maxAgeHours: 24, now})
    expect(latest?.envelope.data.n).to.equal(3)
    // The reader without the pointer (e.g. copied without symlinks) finds the same newest file, old names too.
    rmSync(path.join(dir, 'demo-latest.json'))
    writeFileSync(path.join(dir, 'demo-2026-01-15T14-30-04Z.json'), '{}')
    expect((await readLatest<{n: number}>(config, 'demo', {maxAgeHours: 24, now}))?.envelope.data.n).to.equal(3)
  })

  it('writes report files 0600 and the directories it creates 0700', async () => {
    const sub = path.join(dir, 'private', 'reports')
    const own = (await loadConfig({cwd: dir, env: {OUTPUT_DIR: sub}})).config
    const w = await writeReport(own, 'demo', {login: 'alice'})
    expect(statSync(w.path).mode.toString(8).slice(-3)).to.equal('600')
    expect(statSync(sub).mode.toString(8).slice(-3)).to.equal('700')
    expect(statSync(path.join(dir, 'private')).mode.toString(8).slice(-3)).to.equal('700')
    const out = await writeReport(own, 'demo', {login: 'bob'}, {output: path.join(dir, 'out', 'x.json')})
    expect(statSync(out.path).mode.toString(8).slice(-3)).to.equal('600')
    expect(statSync(path.join(dir, 'out')).mode.toString(8).slice(-3)).to.equal('700')
  })

  it('is stale after maxAgeHours, and a different schema version is not reused', async () => {
    await writeReport(config, 'demo', {n: 1}, {now: new Date('2026-01-01T00:00:00Z')})
    const stale = await readLatest(config, 'demo', {maxAgeHours: 24, now: new Date('2026-01-02T00:00:01Z')})
    expect(stale?.fresh).to.equal(false)
    expect(await readLatest(config, 'demo', {maxAgeHours: 24, schemaVersion: 2})).to.equal(null)
    expect(await readLatest(config, 'nothing', {maxAgeHours: 24})).to.equal(null)
  })

  it('--output writes exactly that path and leaves latest alone', async () => {
    const out = path.join(dir, 'sub', 'exact.json')
    const w = await writeReport(config, 'demo', {n: 3}, {output: out})
    expect(w).to.deep.equal({latest: null, path: out})
    expect(existsSync(path.join(dir, 'demo-latest.json'))).to.equal(false)
  })

  it('refuses report names that could escape the directory', async () => {
    const err = await writeReport(config, '../x', {}).catch((error: unknown) => error)
    expect((err as Error).message).to.contain('invalid report name')
  })

  it('formats binary sizes and aligned tables', () => {
    expect(humanBytes(512)).to.equal('512B')
    expect(humanBytes(1536)).to.equal('1.5KiB')
    expect(humanBytes(1.5 * 1024 ** 3)).to.equal('1.5GiB')
    expect(humanBytes(123.45 * 1024 ** 2)).to.equal('123.5MiB')
    const t = table(
      [
        {a: 'x', b: 10},
        {a: 'long', b: 2},
      ],
      [
        {header: 'NAME', value: (r) => r.a},
        {align: 'right', header: 'N', value: (r) => r.b},
      ],
    )
    expect(t.split('\n')).to.deep.equal(['NAME   N', '----  --', 'x     10', 'long   2'])
  })
})
