import {expect} from 'chai'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {SourceKind, TagUsage, UsageSource} from '../../packages/core/src/usage/types.js'

import {objectIdProblem, parseIdList, readIdFile, tagBelongsTo} from '../../packages/core/src/usage/object-ids.js'
import {evaluateUsage, usageSummary} from '../../packages/core/src/usage/predicate.js'
import {modelTagKey, parseRevisionSpec} from '../../packages/core/src/usage/tags.js'
import {parseTimestamp} from '../../packages/core/src/usage/timestamps.js'

const NOW = new Date('2026-03-01T00:00:00Z')
const ago = (days: number) => new Date(NOW.getTime() - days * 86_400_000)
const src = (kind: SourceKind, lastUsed: Date | null, extra: Partial<UsageSource> = {}): UsageSource => ({
  id: `${kind}-${Math.random()}`,
  kind,
  lastUsed,
  ...extra,
})
const tag = (sources: UsageSource[], createdAt: Date | null = ago(400)): TagUsage => ({
  archived: false,
  createdAt,
  imageType: 'environment',
  matchKey: 't',
  owner: null,
  repository: 'dominodatalab/environment',
  sources,
  tag: 't',
})
const rules = (unusedSinceDays?: number, gracePeriodDays = 7) => ({gracePeriodDays, now: NOW, unusedSinceDays})

describe('usage rules', () => {
  describe('timestamps (domain-spec §5 test_age_filtering / test_usage_detection)', () => {
    it('parses Z, +00:00, other offsets, naive ISO (as UTC), {$date}, epoch ms and BSON dates to the same instant', () => {
      const t = Date.UTC(2025, 5, 17, 14, 22, 38)
      for (const v of [
        '2025-06-17T14:22:38Z',
        '2025-06-17T14:22:38+00:00',
        '2025-06-17T16:22:38+02:00',
        '2025-06-17T09:22:38-0500',
        '2025-06-17T14:22:38',
        '2025-06-17 14:22:38',
        {$date: '2025-06-17T14:22:38Z'},
        {$date: {$numberLong: String(t)}},
        t,
        new Date(t),
      ]) {
        expect(parseTimestamp(v)?.getTime(), JSON.stringify(v)).to.equal(t)
      }
    })

    it('gives null for empty, garbage and missing values', () => {
      for (const v of ['', 'invalid', null, undefined, {}, Number.NaN, '2025-13-45T99:00:00Z'])
        expect(parseTimestamp(v)).to.equal(null)
    })
  })

  describe('the in-use predicate', () => {
    it('uses the latest of runs and workspace sessions (run −10 d, session −5 d → −5 d)', () => {
      const v = evaluateUsage(tag([src('run', ago(10)), src('workspace', ago(5), {usageType: 'session'})]), rules(30))
      expect(v.lastUsed?.getTime()).to.equal(ago(5).getTime())
    })

    it('with N=30 keeps recent-tag (−5 d) and ages out old-tag (−35 d)', () => {
      expect(evaluateUsage(tag([src('run', ago(5))]), rules(30)).inUse).to.equal(true)
      expect(evaluateUsage(tag([src('run', ago(35))]), rules(30)).inUse).to.equal(false)
    })

    it('never ages out configuration usage (old run + project)', () => {
      for (const kind of [
        'project',
        'model_version',
        'scheduler_job',
        'organization',
        'app_version',
        'user_preference',
        'active_revision',
      ] as const) {
        expect(evaluateUsage(tag([src('run', ago(100)), src(kind, null)]), rules(30)).inUse, kind).to.equal(true)
      }
    })

    it('without N any usage counts; unknown age counts as in use with N', () => {
      expect(evaluateUsage(tag([src('run', ago(100))]), rules()).inUse).to.equal(true)
      expect(evaluateUsage(tag([src('workspace', null, {usageType: 'session'})]), rules(30)).inUse).to.equal(true)
    })

    it('no usage → unused, unless within the grace period', () => {
      expect(evaluateUsage(tag([]), rules()).inUse).to.equal(false)
      expect(evaluateUsage(undefined, rules()).inUse).to.equal(false)
      expect(evaluateUsage(tag([], ago(2)), rules(undefined, 7)).inUse).to.equal(true)
      expect(evaluateUsage(tag([], ago(2)), rules(undefined, 0)).inUse).to.equal(false)
    })

    it('summarises like the predecessor, counting runs and distinct documents', () => {
      expect(
        usageSummary([
          src('run', null, {count: 3}),
          src('workspace', null, {id: 'w'}),
          src('workspace', null, {id: 'w', usageType: 'session'}),
        ]),
      ).to.equal('3 executions in MongoDB, 1 workspace')
      expect(usageSummary([src('project', null), src('project', null)])).to.equal('2 projects using as default')
      expect(usageSummary([])).to.equal('No usage found')
    })
  })

  describe('revision specs and model tags', () => {
    it('parses ActiveRevision and SomeRevision(<id>)', () => {
      expect(parseRevisionSpec('ActiveRevision')).to.deep.equal({kind: 'active'})
      expect(parseRevisionSpec(null)).to.deep.equal({kind: 'active'})
      expect(parseRevisionSpec('SomeRevision(68E64EE0CAF3254005314C91)')).to.deep.equal({
        kind: 'some',
        revisionId: '68e64ee0caf3254005314c91',
      })
      expect(parseRevisionSpec('Latest').kind).to.equal('unknown')
    })

    it('maps the stored prefix and the full model tag to one version key', () => {
      const id = '68e663fbcaf3254005314cdc'
      expect(modelTagKey(`${id}-v1`)).to.equal(`${id}-v1`)
      expect(modelTagKey(`${id}-v1-2025108131540_0fPPRse8`)).to.equal(`${id}-v1`)
      expect(modelTagKey(`${id}-v12-x`)).to.not.equal(modelTagKey(`${id}-v1-x`))
      expect(modelTagKey('buildcache')).to.equal(null)
    })
  })

  describe('ObjectId input (domain-spec §5 test_object_id_utils, issue 4 item 4)', () => {
    const A = '68e64edfcaf3254005314c90'
    const B = '68e64ee0caf3254005314c92'

    it('validates single ids with clear messages', () => {
      expect(objectIdProblem(A)).to.equal(null)
      expect(objectIdProblem(A.toUpperCase())).to.equal(null)
      expect(objectIdProblem('', 'environment id')).to.equal('environment id is required')
      expect(objectIdProblem(A.slice(1))).to.match(/not 24 characters/)
      expect(objectIdProblem(`${A}0`)).to.match(/not 24 characters/)
      expect(objectIdProblem(`${A.slice(1)}g`)).to.match(/not a valid hexadecimal/)
    })

    it('reads every prefix spelling case-insensitively, skipping comments and blank lines', () => {
      const text = [
        '# ids to clean',
        `environment:${A}`,
        `ENV:${B}`,
        '',
        `   # indented comment`,
        ...['environmentrevision', 'environment_revision', 'envrevision', 'env_rev', 'EnvRev'].map(
          (p, i) => `${p}:${A.slice(0, 23)}${i}`,
        ),
        `Model:${A}`,
        ...['modelversion', 'model_version', 'model_ver', 'modelver'].map((p, i) => `${p}:${B.slice(0, 23)}${i}`),
      ].join('\n')
      const {ids, problems} = parseIdList(text)
      expect(problems).to.deep.equal([])
      expect(ids.environment).to.deep.equal([A, B])
      expect(ids.environmentRevision).to.have.length(5)
      expect(ids.model).to.deep.equal([A])
      expect(ids.modelVersion).to.have.length(4)
    })

    it('reports every bad line with its number; bare ids only with a declared kind', () => {
      const text = [`environment:${A}`, A, 'unknown:' + B, 'model:123', `model:${A.slice(1)}g`].join('\n')
      const {problems} = parseIdList(text)
      expect(problems.map((p) => p.line)).to.deep.equal([2, 3, 4, 5])
      expect(parseIdList(A, {bareKind: 'environment'}).ids).to.deep.equal({environment: [A]})
      expect(parseIdList(`model:${A}`, {kinds: ['environment']}).problems[0].message).to.match(/not accepted here/)
    })

    it('refuses a whole file with any bad line, listing file:line for each', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'drc-ids-'))
      const file = path.join(dir, 'ids.txt')
      writeFileSync(file, `environment:${A}\nenv:xyz\nmodel:${B}\nfoo\n`)
      const err = await readIdFile(file).then(
        () => null,
        (error: Error) => error,
      )
      expect(err?.message).to.contain(`${file}:2:`).and.contain(`${file}:4:`).and.contain('nothing was done')
      writeFileSync(file, `environment:${A}\n`)
      expect(await readIdFile(file)).to.deep.equal({environment: [A]})
    })

    it('matches tags to ids by equality or `<id>-` prefix only', () => {
      expect(tagBelongsTo(`${A}-1`, A)).to.equal(true)
      expect(tagBelongsTo(A, A)).to.equal(true)
      expect(tagBelongsTo(`${A}-v2`, A)).to.equal(true)
      expect(tagBelongsTo(`prefix-${A}`, A)).to.equal(false)
      expect(tagBelongsTo(`${A}1`, A)).to.equal(false)
    })
  })
})
