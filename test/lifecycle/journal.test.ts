import {expect} from 'chai'
import {mkdtempSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {
  newJournal,
  openJournalAppender,
  parseJournal,
  planId,
  saveJournal,
} from '../../packages/core/src/lifecycle/journal.js'

const item = (n: number) => ({
  digest: `sha256:${String(n).padStart(64, '0')}`,
  evidence: [],
  parents: [],
  repository: 'dominodatalab/environment',
  tags: [`t${n}`],
})

/**
 * The deletion journal on disk (invariant 9): a header, then one appended line per item event, so recording an
 * item costs the same at item 10 as at item 10,000; --resume reads it back, the latest line per item winning.
 */
describe('lifecycle journal: append-only lines, read back by --resume', () => {
  const items = Array.from({length: 500}, (_, i) => item(i))
  const key = (n: number) => `${items[n].repository}@${items[n].digest}`

  function fresh() {
    const dir = mkdtempSync(path.join(tmpdir(), 'drc-journal-'))
    const journal = newJournal(planId(items), items, 'test')
    return {file: path.join(dir, `${journal.plan_id}.jsonl`), journal}
  }

  it('each record appends one line (the file is never rewritten), on disk once record resolves; read back equal', async () => {
    const {file, journal} = fresh()
    await saveJournal(file, journal)
    expect((statSync(file).mode % 0o1000).toString(8)).to.equal('600')
    const header = statSync(file).size
    const appender = await openJournalAppender(file)
    await appender.record(key(0), {status: 'deleting'})
    const one = statSync(file).size - header
    expect(readFileSync(file, 'utf8').trim().split('\n')).to.have.length(2)
    // Concurrent records (four workers) share writes; every line lands, in order of the calls.
    await Promise.all(
      Array.from({length: 40}, (_, n) =>
        appender.record(key(n % 10), {reason: n >= 30 ? 'kept' : undefined, status: n >= 30 ? 'skipped' : 'deleted'}),
      ),
    )
    await appender.close()
    const text = readFileSync(file, 'utf8')
    expect(text.trim().split('\n')).to.have.length(42)
    // O(1) per item: the 41 records after the first added about 41 lines' worth, not 41 copies of the journal.
    expect(statSync(file).size - header).to.be.below(one * 41 * 1.5)
    const back = parseJournal(text)
    expect(back.items).to.deep.equal(journal.items)
    expect(back.plan_id).to.equal(journal.plan_id)
    expect(back.outcomes[key(0)]).to.deep.equal({reason: 'kept', status: 'skipped'})
    expect(Object.keys(back.outcomes)).to.have.length(10)
  })

  it('a last line cut short by a crash is ignored (the line before stands); a bad line elsewhere is refused', async () => {
    const {file, journal} = fresh()
    await saveJournal(file, journal)
    const appender = await openJournalAppender(file)
    await appender.record(key(1), {status: 'deleting'})
    await appender.close()
    writeFileSync(file, `${readFileSync(file, 'utf8')}{"key":"${key(1)}","sta`)
    expect(parseJournal(readFileSync(file, 'utf8')).outcomes).to.deep.equal({[key(1)]: {status: 'deleting'}})
    const lines = readFileSync(file, 'utf8').split('\n')
    writeFileSync(file, [lines[0], '{oops', lines[1]].join('\n'))
    expect(() => parseJournal(readFileSync(file, 'utf8'))).to.throw()
  })

  it('saveJournal compacts: a resumed run starts from header + one line per item', async () => {
    const {file, journal} = fresh()
    journal.outcomes[key(2)] = {status: 'deleted'}
    journal.outcomes[key(3)] = {reason: 'in use', status: 'skipped'}
    await saveJournal(file, journal)
    expect(readFileSync(file, 'utf8').trim().split('\n')).to.have.length(3)
    expect(parseJournal(readFileSync(file, 'utf8')).outcomes).to.deep.equal(journal.outcomes)
  })
})
