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

import type {DrcConfig} from '../../packages/core/src/config/types.js'

import {loadConfig} from '../../packages/core/src/config/load.js'
import {humanBytes, table} from '../../packages/core/src/reports/format.js'
import {applyRetention} from '../../packages/core/src/reports/retention.js'
import {readLatest, timestampSuffix, writeReport} from '../../packages/core/src/reports/store.js'

const at = (minute: number) => new Date(Date.UTC(2026, 0, 15, 14, minute))
const timestampedFilesIn = (dir: string, name: string) =>
  readdirSync(dir)
    .filter((f) => f.startsWith(`${name}-2`))
    .sort()

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
    expect(w).to.deep.equal({latest: null, path: out, removed: []})
    expect(existsSync(path.join(dir, 'demo-latest.json'))).to.equal(false)
  })

  describe('retention (reports.keep)', () => {
    it('keeps the newest N files of the name just written, removes older ones, never other names', async () => {
      const keep3 = (await loadConfig({cwd: dir, env: {OUTPUT_DIR: dir}, flags: {'reports.keep': 3}})).config
      // Another report whose name starts like this one, and an older one-second name of this one.
      for (let m = 0; m < 5; m++) await writeReport(keep3, 'demo-extra', {m}, {now: at(m)}) // eslint-disable-line no-await-in-loop
      writeFileSync(path.join(dir, 'demo-2026-01-15T13-00-00Z.json'), '{}')
      writeFileSync(path.join(dir, 'unrelated.json'), '{}')
      const written = []
      // eslint-disable-next-line no-await-in-loop -- in order, on purpose
      for (let m = 10; m < 15; m++) written.push(await writeReport(keep3, 'demo', {m}, {now: at(m)}))
      expect(timestampedFilesIn(dir, 'demo')).to.deep.equal(written.slice(2).map((w) => path.basename(w.path)))
      expect(written[4].removed).to.deep.equal([written[1].path])
      expect(written[3].removed).to.deep.equal([written[0].path])
      // The predecessor's one-second name sorts as the oldest and goes first.
      expect(written[2].removed).to.deep.equal([path.join(dir, 'demo-2026-01-15T13-00-00Z.json')])
      expect(timestampedFilesIn(dir, 'demo-extra')).to.have.length(3)
      expect(existsSync(path.join(dir, 'unrelated.json'))).to.equal(true)
      expect(readlinkSync(path.join(dir, 'demo-latest.json'))).to.equal(path.basename(written[4].path))
    })

    it('never removes the file -latest points at, nor the file just written, even when older than the N kept', async () => {
      const keep1 = (await loadConfig({cwd: dir, env: {OUTPUT_DIR: dir}, flags: {'reports.keep': 1}})).config
      const old = await writeReport(keep1, 'demo', {n: 1}, {now: at(1)})
      // Another writer's newer files appear, and its pointer has not moved yet when this one prunes.
      const newer = ['demo-2026-01-15T14-05-00.000Z.json', 'demo-2026-01-15T14-06-00.000Z.json']
      for (const f of newer) writeFileSync(path.join(dir, f), '{}')
      const removed = await applyRetention(dir, 'demo', 1, {
        justWritten: path.join(dir, newer[1]),
        latestLink: path.join(dir, 'demo-latest.json'),
      })
      expect(removed).to.deep.equal([path.join(dir, newer[0])])
      expect(existsSync(old.path)).to.equal(true)
      // Written with a clock that went back: the oldest file, and kept because it was just written.
      const back = await writeReport(keep1, 'demo', {n: 3}, {now: at(0)})
      expect(existsSync(back.path)).to.equal(true)
      expect(timestampedFilesIn(dir, 'demo')).to.deep.equal([path.basename(back.path), newer[1]])
      // A file just written with an even older clock, while the pointer still names `back`: both stay.
      const older = path.join(dir, 'demo-2026-01-15T13-00-00.000Z.json')
      writeFileSync(older, '{}')
      const latestLink = path.join(dir, 'demo-latest.json')
      expect(await applyRetention(dir, 'demo', 1, {justWritten: older, latestLink})).to.deep.equal([])
    })

    it('never removes audit reports; 0 keeps everything; the default is 30', async () => {
      expect(config.reports.keep).to.equal(30)
      const keep1 = (await loadConfig({cwd: dir, env: {OUTPUT_DIR: dir}, flags: {'reports.keep': 1}})).config
      const keep0 = (await loadConfig({cwd: dir, env: {OUTPUT_DIR: dir}, flags: {'reports.keep': 0}})).config
      for (let m = 0; m < 4; m++) {
        /* eslint-disable no-await-in-loop */
        await writeReport(keep1, 'unused-environments-audit', {m}, {now: at(m)})
        await writeReport(keep1, 'unused-environments-plan', {m}, {now: at(m)})
        await writeReport(keep0, 'usage', {m}, {now: at(m)})
        /* eslint-enable no-await-in-loop */
      }

      expect(timestampedFilesIn(dir, 'unused-environments-audit')).to.have.length(4)
      expect(timestampedFilesIn(dir, 'unused-environments-plan')).to.have.length(1)
      expect(timestampedFilesIn(dir, 'usage')).to.have.length(4)
    })

    it('rejects a negative reports.keep, naming the key', async () => {
      const {errors} = await loadConfig({cwd: dir, env: {OUTPUT_DIR: dir}, flags: {'reports.keep': -1}})
      expect(errors).to.deep.equal([
        {message: 'reports.keep must be a whole number, 0 (keep all) or more, got: -1', path: 'reports.keep'},
      ])
    })
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
