/* eslint-disable no-await-in-loop -- the browser checks run one after the other on purpose */
import type {Page} from 'playwright-core'

import {expect} from 'chai'
import {mkdtempSync, readFileSync, rmSync, statSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {PNG} from 'pngjs'

import type {DrcConfig} from '../../packages/core/src/config/types.js'

import {loadConfig} from '../../packages/core/src/config/load.js'
import {
  buildHtmlData,
  collectStrategyReports,
  type HtmlReportData,
  renderAuditHtml,
  renderHtmlReport,
  writeHtmlFile,
} from '../../packages/core/src/html/index.js'
import {writeReport} from '../../packages/core/src/reports/store.js'
import {type Browser, startChromium} from '../support/chromium.js'
import {deletionReport, source, XSS_ATTR, XSS_IMG, XSS_TAG} from './fixture.js'

/** data-value of every cell of one column of a table, in row order. */
async function column(page: Page, table: string, key: string): Promise<string[]> {
  return page.$$eval(`[data-table="${table}"] tbody td[data-key="${key}"]`, (tds) =>
    tds.map((td) => td.dataset.value ?? ''),
  )
}

async function card(page: Page, section: string, key: string): Promise<number> {
  return Number(await page.getAttribute(`#${section} [data-card="${key}"]`, 'data-value'))
}

/** Distinct RGBA values of a PNG (a blank screenshot has one or two). */
function distinctColours(file: string): number {
  const png = PNG.sync.read(readFileSync(file))
  const seen = new Set<number>()
  for (let i = 0; i < png.data.length; i += 4) seen.add(png.data.readUInt32BE(i))
  return seen.size
}

describe('HTML report (real headless Chromium)', function () {
  this.timeout(120_000)
  let browser: Browser
  let dir: string
  let config: DrcConfig
  let data: HtmlReportData
  let file: string

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'drc-html-'))
    config = (await loadConfig({cwd: dir, env: {OUTPUT_DIR: dir}})).config
    // Written through the report store under the lifecycle's names (`<strategy>-plan|audit`), then collected.
    await writeReport(config, 'archived-delete-plan', deletionReport('archived:delete', false), {
      now: new Date('2026-01-15T14:00:00Z'),
    })
    await writeReport(config, 'archived-delete-audit', deletionReport('archived:delete', true), {
      now: new Date('2026-01-15T14:31:00Z'),
    })
    await writeReport(config, `unused-delete-plan`, deletionReport(`unused:delete`, false), {
      now: new Date('2026-01-15T14:10:00Z'),
    })
    const {audit, strategies} = await collectStrategyReports(config)
    data = buildHtmlData(source(), strategies, audit, {dominoUrl: 'https://domino.example.com/'})
    file = await writeHtmlFile(path.join(dir, 'report.html'), renderHtmlReport(data))
    browser = await startChromium()
  })

  after(async () => {
    await browser?.close()
    rmSync(dir, {force: true, recursive: true})
  })

  it('loads with no console errors, no page errors and no network requests', async () => {
    const {page, record} = await browser.open(file)
    expect(record.consoleErrors).to.deep.equal([])
    expect(record.pageErrors).to.deep.equal([])
    expect(record.requests).to.deep.equal([])
    // The chart library was inlined and ran (a canvas drawn by Chart.js).
    expect(await page.evaluate(() => typeof (globalThis as unknown as {Chart?: unknown}).Chart)).to.equal('function')
    await page.close()
  })

  it('shows the numbers of the JSON report (read from the DOM)', async () => {
    const {page} = await browser.open(file)
    const repos = data.registry.repositories
    expect(await column(page, 'repositories', 'repository')).to.deep.equal(repos.map((r) => r.repository))
    for (const s of ['used', 'unused', 'unknown'] as const) {
      expect(await column(page, 'repositories', `${s}_bytes`)).to.deep.equal(repos.map((r) => String(r[s].bytes)))
      expect(await column(page, 'repositories', `${s}_tags`)).to.deep.equal(repos.map((r) => String(r[s].tags)))
      expect(await card(page, 'registry', `${s}_bytes`)).to.equal(source().usage.total[s].bytes)
    }

    // Top images by bytes freed, largest first, from the image analysis.
    const byFreed = [...source().images].sort((a, b) => b.unique_bytes - a.unique_bytes)
    expect(await column(page, 'images', 'freed_bytes')).to.deep.equal(byFreed.map((i) => String(i.unique_bytes)))
    expect(await column(page, 'owners', 'freed_bytes')).to.deep.equal(['450000000', '300000000'])
    // Strategy candidates (planned + in use) from the newest plan/audit of each strategy.
    expect(data.strategies.map((s) => `${s.strategy}:${s.kind}`)).to.deep.equal([
      'archived:delete:audit',
      'unused:delete:plan',
    ])
    expect(await column(page, 'strategy:archived:delete', 'digest')).to.have.length(3)
    expect(await card(page, 'strategies', 'predicted_freed_bytes')).to.equal(123_456_789)
    // The last audit: deleted, kept, failed, freed predicted vs measured.
    const audit = deletionReport('archived:delete', true)
    expect(await card(page, 'audit', 'deleted')).to.equal(audit.deleted.length)
    expect(await card(page, 'audit', 'kept')).to.equal(audit.skipped.length)
    expect(await card(page, 'audit', 'failed')).to.equal(audit.failed.length)
    expect(await card(page, 'audit', 'predicted_freed_bytes')).to.equal(audit.predicted_freed_bytes_deleted)
    expect(await page.textContent('#audit [data-card="measured_freed_bytes"]')).to.contain('not measured')
    expect(await column(page, 'audit-kept', 'reason')).to.include('in use at planning: run in project p1')
    await page.close()
  })

  it('sorts and filters the tables', async () => {
    const {page} = await browser.open(file)
    await page.click('[data-table="images"] th[data-key="total_bytes"]')
    const desc = (await column(page, 'images', 'total_bytes')).map(Number)
    expect(desc).to.deep.equal([...desc].sort((a, b) => b - a))
    await page.click('[data-table="images"] th[data-key="total_bytes"]')
    const asc = (await column(page, 'images', 'total_bytes')).map(Number)
    expect(asc).to.deep.equal([...asc].sort((a, b) => a - b))
    await page.fill('[data-table="images"] input[type="search"]', 'acme/model')
    const repos = await column(page, 'images', 'repository')
    expect(repos).to.have.length(source().images.filter((i) => i.repository === 'acme/model').length)
    expect(new Set(repos)).to.deep.equal(new Set(['acme/model']))
    await page.close()
  })

  it('shows hostile tag, owner and evidence text as text and runs none of it', async () => {
    const {page, record} = await browser.open(file)
    // Hover everything: an injected onmouseover would fire.
    for (const td of await page.$$('td')) await td.hover({force: true, timeout: 1000}).catch(() => {})
    expect(await page.evaluate(() => (globalThis as unknown as {__xss?: unknown}).__xss)).to.equal(undefined)
    expect(record.dialogs).to.deep.equal([])
    expect(await column(page, 'images', 'tags')).to.include.members([`${'0'.repeat(24)}-1${XSS_TAG}`, XSS_ATTR])
    expect(await column(page, 'owners', 'owner')).to.include(XSS_IMG)
    const evidence = await page.$$eval('[data-table="strategy:archived:delete"] td[data-key="evidence"]', (tds) =>
      tds.map((td) => td.textContent),
    )
    expect(evidence).to.include(`environment named ${XSS_TAG} archived`)
    // No element came from the data: the only scripts are the page's three, no <img> at all.
    expect(await page.$$eval('script', (s) => s.length)).to.equal(3)
    expect(await page.$$eval('img', (s) => s.length)).to.equal(0)
    // The embedded JSON cannot close its <script> element early.
    const html = readFileSync(file, 'utf8')
    const json = html.slice(html.indexOf('id="drc-data">'), html.indexOf('</script>'))
    expect(json).not.to.match(/<\/?script|<!--/i)
    // The owner's deep link is URL-encoded, not markup.
    const hrefs = await page.$$eval('[data-table="owners"] a', (as) => as.map((a) => a.getAttribute('href')))
    expect(hrefs).to.include(`https://domino.example.com/u/${encodeURIComponent(XSS_IMG)}#environment`)
    await page.close()
  })

  it('takes a 1280×800 screenshot that is not blank', async () => {
    const {page} = await browser.open(file)
    const shot = path.join(dir, 'shot.png')
    await page.screenshot({path: shot})
    const png = PNG.sync.read(readFileSync(shot))
    expect([png.width, png.height]).to.deep.equal([1280, 800])
    expect(distinctColours(shot)).to.be.greaterThan(50)
    expect(statSync(shot).size).to.be.greaterThan(20_000)
    await page.close()
  })

  it('renders one deletion run on its own (renderAuditHtml, for the lifecycle --html)', async () => {
    const audit = deletionReport('archived:delete', true)
    const one = await writeHtmlFile(path.join(dir, 'audit.html'), renderAuditHtml(audit, '/reports/a.json'))
    const {page, record} = await browser.open(one)
    expect(record.consoleErrors).to.deep.equal([])
    expect(await card(page, 'audit', 'deleted')).to.equal(1)
    expect(await card(page, 'audit', 'failed')).to.equal(1)
    expect(await column(page, 'strategy:archived:delete', 'digest')).to.have.length(3)
    expect(await page.evaluate(() => (globalThis as unknown as {__xss?: unknown}).__xss)).to.equal(undefined)
    await page.close()
  })
})
