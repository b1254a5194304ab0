import {expect} from 'chai'
import {mkdtempSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type {ImageSizeRow} from '../../src/commands/report/image-size.js'

import {toCsv} from '../../packages/core/src/lib/table.js'
import {pushImages} from '../fixtures/push-images.js'
import {testClient} from '../registry/helpers.js'
import {runCli} from '../support/cli.js'
import {services} from '../support/harness.js'

const PREFIX = `tables${Date.now().toString(36)}`

/** RFC 4180, enough for the test: quoted fields with "" escapes, commas and newlines inside quotes. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"'
        i++
      } else if (ch === '"') quoted = false
      else field += ch
    } else
      switch (ch) {
        case '\n': {
          row.push(field)
          rows.push(row)
          row = []
          field = ''

          break
        }

        case '"': {
          quoted = true
          break
        }

        case ',': {
          row.push(field)
          field = ''

          break
        }

        default: {
          field += ch
        }
      }
  }

  row.push(field)
  rows.push(row)
  return rows
}

describe('tables: --columns, --sort, --limit, --csv (drc report image-size, real registry)', function () {
  this.timeout(120_000)
  let env: Record<string, string>
  let json: ImageSizeRow[]

  const drc = (...args: string[]) => runCli(['report', 'image-size', ...args], {env})

  before(async () => {
    const client = testClient(services().registry.url)
    const base = {seed: `${PREFIX}-base`, size: 4096}
    await pushImages(client, [
      {layers: [base, {seed: `${PREFIX}-1`, size: 2048}], repository: `${PREFIX}/environment`, tags: ['b-1', 'b-2']},
      {layers: [base, {seed: `${PREFIX}-2`, size: 512}], repository: `${PREFIX}/environment`, tags: ['a-1']},
      {layers: [base, {seed: `${PREFIX}-3`, size: 8192}], repository: `${PREFIX}/model`, tags: ['c-1']},
    ])
    await client.close()
    const dir = mkdtempSync(path.join(os.tmpdir(), 'drc-tables-'))
    const configFile = path.join(dir, 'drc.config.yaml')
    writeFileSync(configFile, 'retry:\n  initial_delay: 0.05\n  max_delay: 0.1\n  max_retries: 1\n')
    env = {CONFIG_FILE: configFile, OUTPUT_DIR: dir, REGISTRY_URL: services().registry.url, REPOSITORY: PREFIX}
    const r = drc('--json', '--generate-reports')
    expect(r.code, r.stderr).to.equal(0)
    json = (r.json() as {result: {images: ImageSizeRow[]}}).result.images
    expect(json).to.have.length(3)
  })

  it('--csv parses to the same rows as --json (raw values, header = the JSON field names)', () => {
    const r = drc('--csv')
    expect(r.code, r.stderr).to.equal(0)
    const [header, ...rows] = parseCsv(r.stdout.trimEnd())
    expect(header).to.deep.equal(['repository', 'tags', 'total_bytes', 'freed_bytes_alone', 'digest'])
    const asJson = rows.map((cells) => ({
      digest: cells[4],
      freed_bytes_alone: Number(cells[3]),
      repository: cells[0],
      tags: cells[1].split(','),
      total_bytes: Number(cells[2]),
    }))
    expect(asJson).to.deep.equal(json)
  })

  it('--columns selects and orders the columns; --sort orders the rows (- for descending); --limit cuts', () => {
    const cols = drc('--csv', '--columns', 'tags,total_bytes')
    expect(parseCsv(cols.stdout.trimEnd())[0]).to.deep.equal(['tags', 'total_bytes'])
    const asc = parseCsv(drc('--csv', '--columns', 'tags', '--sort', 'total_bytes').stdout.trimEnd())
    expect(asc.slice(1).map((r) => r[0])).to.deep.equal(['a-1', 'b-1,b-2', 'c-1'])
    const desc = parseCsv(drc('--csv', '--columns', 'tags', '--sort=-total_bytes', '--limit', '2').stdout.trimEnd())
    expect(desc.slice(1).map((r) => r[0])).to.deep.equal(['c-1', 'b-1,b-2'])
  })

  it('the text table has one header line and one line per row in a pipe, with human sizes', () => {
    const r = drc('--sort', 'tags', '--columns', 'tags,total_bytes,digest')
    expect(r.code, r.stderr).to.equal(0)
    const lines = r.stdout.split('\n').filter((l) => l.includes('sha256:'))
    expect(lines).to.have.length(3)
    expect(lines[0]).to.match(/^\s*a-1\s+\d+(\.\d+)?KiB\s+sha256:[\da-f]{64}\s*$/)
    expect(r.stdout).to.match(/TAGS\s+TOTAL\s+DIGEST/)
  })

  it('an unknown column is a usage error (exit 2) naming the valid columns, before any scan', () => {
    for (const flag of ['--columns', '--sort']) {
      const r = drc(flag, 'size', '--json')
      expect(r.code, r.stdout).to.equal(2)
      const e = r.json() as {message: string; name: string}
      expect(e.name).to.equal('UsageError')
      expect(e.message).to.include(`unknown column 'size' in ${flag}`)
      expect(e.message).to.include('repository, tags, total_bytes, freed_bytes_alone, digest')
    }

    const text = drc('--columns', 'nope')
    expect(text.code).to.equal(2)
    expect(text.stderr).to.include("unknown column 'nope'")
  })

  it('CSV quotes fields with commas, quotes and newlines', () => {
    const rows = [{a: 'x,y', b: 'say "hi"', c: 'two\nlines', d: null}]
    const csv = toCsv(rows, [
      {header: 'A', key: 'a', value: (r) => r.a},
      {header: 'B', key: 'b', value: (r) => r.b},
      {header: 'C', key: 'c', value: (r) => r.c},
      {header: 'D', key: 'd', value: (r) => r.d},
    ])
    expect(csv).to.equal('a,b,c,d\n"x,y","say ""hi""","two\nlines",')
    expect(parseCsv(csv)).to.deep.equal([
      ['a', 'b', 'c', 'd'],
      ['x,y', 'say "hi"', 'two\nlines', ''],
    ])
  })
})
