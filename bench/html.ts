/**
 * The HTML report of a 50,000-image registry opened in headless Chromium: file size, render time in Node and
 * load time in the browser (until the page script has built every section). Target (issue 13): under 2 s.
 */
import {mkdtempSync, rmSync, statSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type {BenchRow} from './registry-scan.js'

import {buildHtmlData, renderHtmlReport, strategyFromReport, writeHtmlFile} from '../packages/core/src/html/index.js'
import {deletionReport, images, source} from '../test/html/fixture.js'
import {startChromium} from '../test/support/chromium.js'

export async function benchHtml(count = 50_000): Promise<BenchRow[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'drc-bench-html-'))
  const browser = await startChromium()
  try {
    const imgs = images(count, false)
    const plan = deletionReport('archived:delete', false, false)
    // Every image a candidate: the largest tables the page can have.
    plan.planned = imgs.map((i) => ({
      digest: i.digest,
      evidence: ['archived'],
      parents: [],
      repository: i.repository,
      tags: i.tags,
    }))
    const started = performance.now()
    const data = buildHtmlData(
      {...source(0, false), images: imgs},
      [strategyFromReport(plan, 'plan.json', plan.finished_at)],
      null,
      {top: 0},
    )
    const file = await writeHtmlFile(path.join(dir, 'report.html'), renderHtmlReport(data))
    const renderMs = performance.now() - started
    const runs: number[] = []
    for (let i = 0; i < 3; i++) {
      // eslint-disable-next-line no-await-in-loop
      const {loadMs, page} = await browser.open(file)
      runs.push(loadMs)
      // eslint-disable-next-line no-await-in-loop
      await page.close()
    }

    runs.sort((a, b) => a - b)
    return [
      {name: `${count} images: file size (MiB)`, value: Number((statSync(file).size / 1024 ** 2).toFixed(1))},
      {name: `${count} images: build + render in Node (ms)`, value: Math.round(renderMs)},
      {
        name: `${count} images: load in Chromium (ms, median of 3)`,
        notes: `min ${Math.round(runs[0])}, max ${Math.round(runs[2])}; target < 2000`,
        value: Math.round(runs[1]),
      },
    ]
  } finally {
    await browser.close()
    rmSync(dir, {force: true, recursive: true})
  }
}
