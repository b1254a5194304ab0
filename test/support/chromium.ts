/**
 * Debian's chromium driven by playwright-core (which never downloads a browser): a persistent context on a new
 * empty profile directory, offline-minded flags, and a record of console errors, page errors, dialogs and every
 * request the page makes (all network requests are aborted and recorded).
 */
import type {BrowserContext, Page} from 'playwright-core'

import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {chromiumBinary} from './install.js'

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export interface PageRecord {
  consoleErrors: string[]
  dialogs: string[]
  pageErrors: string[]
  /** Every request other than the page's own file:// load (each was aborted). */
  requests: string[]
}

export interface Browser {
  close(): Promise<void>
  /** Opens `file` at 1280×800 and waits for the page script to finish (body[data-ready]). */
  open(file: string): Promise<{loadMs: number; page: Page; record: PageRecord}>
}

export async function startChromium(): Promise<Browser> {
  const executablePath = chromiumBinary()
  if (!executablePath)
    throw new Error('chromium not found: run `node --import tsx test/support/install.ts` (apt chromium)')
  const {chromium} = await import('playwright-core')
  const profile = mkdtempSync(path.join(tmpdir(), 'drc-chromium-'))
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    args: CHROMIUM_FLAGS,
    executablePath,
    headless: true,
    viewport: {height: 800, width: 1280},
  })
  return {
    async close() {
      await context.close()
      rmSync(profile, {force: true, recursive: true})
    },
    async open(file) {
      const url = `file://${path.resolve(file)}`
      const page = await context.newPage()
      const record: PageRecord = {consoleErrors: [], dialogs: [], pageErrors: [], requests: []}
      page.on('console', (m) => {
        if (m.type() === 'error') record.consoleErrors.push(m.text())
      })
      page.on('pageerror', (e) => record.pageErrors.push(e.message))
      page.on('dialog', async (d) => {
        record.dialogs.push(d.message())
        await d.dismiss()
      })
      page.on('request', (r) => {
        if (r.url() !== url) record.requests.push(r.url())
      })
      await page.route('**/*', (route) => (route.request().url() === url ? route.continue() : route.abort()))
      const started = Date.now()
      await page.goto(url, {waitUntil: 'load'})
      await page.waitForSelector('body[data-ready="1"]', {timeout: 30_000})
      return {loadMs: Date.now() - started, page, record}
    },
  }
}

/** `node --import tsx test/support/chromium.ts <page.html> <shot.png>`: the 1280×800 screenshot of docs/html-report.png. */
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [html, png] = process.argv.slice(2)
  const browser = await startChromium()
  try {
    const {page} = await browser.open(html)
    await page.screenshot({path: png})
  } finally {
    await browser.close()
  }
}
