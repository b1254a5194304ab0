import {expect} from 'chai'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {Candidate} from '../../packages/core/src/lifecycle/types.js'

import {
  namesCandidate,
  namesRecord,
  narrowToInput,
  readPlanInput,
} from '../../packages/core/src/lifecycle/plan-input.js'

const ENV = '68e64edfcaf3254005314c90'
const REV = '68e64edfcaf3254005314c91'
const VER = '68e64edfcaf3254005314c92'

function file(name: string, content: unknown): string {
  const f = path.join(mkdtempSync(path.join(tmpdir(), 'drc-plan-input-')), name)
  writeFileSync(f, typeof content === 'string' ? content : JSON.stringify(content))
  return f
}

const candidate = (tag: string, repository = 'dominodatalab/environment', env = ENV, rev = REV): Candidate => ({
  mongo: [
    {collection: 'environment_revisions', id: rev},
    {collection: 'environments_v2', id: env},
  ],
  reason: 'test',
  repository,
  tag,
})

/** --input (domain-spec §4.6, §4.7): every format drc replays, and only ever a narrower plan. */
describe('plan input: ObjectId files and reports narrow a plan (--input)', () => {
  it('an ObjectId file names environments by id (upper-case hex normalised); other ids match nothing', async () => {
    const input = await readPlanInput(file('ids.txt', `# c\nenvironment:${ENV.toUpperCase()}\n`))
    expect(namesCandidate(input, candidate('x-1'))).to.equal(true)
    expect(namesCandidate(input, candidate('y-1', undefined, 'aaaaaaaaaaaaaaaaaaaaaaaa', VER))).to.equal(false)
  })

  it('the predecessor reports: archived_tags, grouped_by_object_id, grouped_by_user, unused_references', async () => {
    const archived = await readPlanInput(file('a.json', {archived_tags: [{image_type: 'model', tag: 'm-v1'}]}))
    expect([...archived.tags]).to.deep.equal(['model:m-v1'])
    const unused = await readPlanInput(file('u.json', {grouped_by_object_id: {[ENV]: [{tag: 'e-1'}]}}))
    expect(namesCandidate(unused, candidate('e-1', 'reg:5000/dominodatalab/environment', VER, VER))).to.equal(true)
    expect(namesCandidate(unused, candidate('e-1', 'dominodatalab/model', VER, VER))).to.equal(false)
    const users = await readPlanInput(
      file('d.json', {grouped_by_user: {'a@b': {environments: [ENV], tags: [{image_type: 'environment', tag: 't'}]}}}),
    )
    expect(users.ids.environment).to.deep.equal([ENV])
    expect(users.tags.has('environment:t')).to.equal(true)
    const refs = await readPlanInput(
      file('r.json', {unused_references: [{collection: 'model_versions', document_id: VER, tag: 'x'}]}),
    )
    expect(namesRecord(refs, {collection: 'model_versions', id: VER})).to.equal(true)
    expect(namesRecord(refs, {collection: 'environment_revisions', id: VER})).to.equal(false)
  })

  it('a drc report: image items by repository + tags, MongoDB items by collection + id', async () => {
    const input = await readPlanInput(
      file('plan.json', {
        data: {
          planned: [
            {digest: 'sha256:1', repository: 'dominodatalab/environment', tags: ['e-2']},
            {collection: 'environment_revisions', id: REV, reason: 'r'},
          ],
        },
      }),
    )
    expect(input.tags.has('environment:e-2')).to.equal(true)
    expect(namesRecord(input, {collection: 'environment_revisions', id: REV})).to.equal(true)
  })

  it('narrowToInput keeps only named candidates and never adds one', async () => {
    const input = await readPlanInput(file('ids.txt', `environment_revision:${REV}\nenvironment:${VER}\n`))
    const notes: string[] = []
    const plan = [candidate('a-1'), candidate('b-1', undefined, 'bbbbbbbbbbbbbbbbbbbbbbbb', 'cccccccccccccccccccccccc')]
    expect(narrowToInput(plan, input, (m) => notes.push(m)).map((c) => c.tag)).to.deep.equal(['a-1'])
    expect(notes.join('\n')).to.match(/1 of 2 candidates named/)
  })

  it('refuses what it cannot read (exit 2), naming the file', async () => {
    for (const bad of [file('x.json', [1]), file('y.json', {hello: 1}), '/nonexistent/ids.txt']) {
      // eslint-disable-next-line no-await-in-loop -- one file after the other
      const error = await readPlanInput(bad).then(
        () => null,
        (error: {exitCode?: number; message: string}) => error,
      )
      expect(error?.message).to.contain(bad)
      expect(error?.exitCode).to.equal(2)
    }
  })
})
