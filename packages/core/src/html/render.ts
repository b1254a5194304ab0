/**
 * One self-contained HTML file: styles, the pinned chart library (Chart.js, read from node_modules) and the
 * page script inlined, the data embedded as JSON. No network: a Content-Security-Policy allows only the inline
 * scripts by hash and no connections, so the page works offline and an injected script could not run anyway.
 */
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import path from 'node:path'

import type {HtmlReportData} from './data.js'

import {DrcError} from '../lib/errors.js'
import {PAGE_SCRIPT} from './page-script.js'

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header{background:#1d3557;color:#fff;padding:12px 24px}header h1{margin:0;font-size:20px}
main{padding:8px 24px 40px}section{background:#fff;border-radius:6px;padding:8px 16px 16px;margin:16px 0;box-shadow:0 1px 2px #0002}
h2{font-size:17px}h3{font-size:15px;margin:14px 0 6px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:8px 0}.card{border:1px solid #dde;border-radius:6px;padding:8px 14px;min-width:120px}
.card-value{font-size:18px;font-weight:600}.card-label{color:#667;font-size:12px}
.chart{position:relative;height:220px;margin:8px 0}
.table-wrap{overflow-x:auto}.table-bar{display:flex;gap:12px;align-items:center;margin:6px 0}.info{color:#667;font-size:12px}
table{border-collapse:collapse;width:100%}th,td{padding:4px 8px;border-bottom:1px solid #eef;text-align:left;vertical-align:top}
th{cursor:pointer;user-select:none;background:#f0f2f6;white-space:nowrap}th[aria-sort=ascending]::after{content:" \\25B2"}
th[aria-sort=descending]::after{content:" \\25BC"}.num{text-align:right;white-space:nowrap}td{word-break:break-word}
`

/** JSON that is safe inside <script type="application/json">: no `<`, `>`, `&` or line separators as such. */
export function embedJson(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll('<', String.raw`\u003c`)
    .replaceAll('>', String.raw`\u003e`)
    .replaceAll('&', String.raw`\u0026`)
    .replaceAll('\u2028', String.raw`\u2028`)
    .replaceAll('\u2029', String.raw`\u2029`)
}

let chartSource: string | undefined

/** Chart.js's UMD build from node_modules (the version pinned in package.json), read once. */
export function chartLibrary(): string {
  if (chartSource === undefined) {
    const entry = createRequire(import.meta.url).resolve('chart.js')
    const file = path.join(path.dirname(entry), 'chart.umd.min.js')
    const text = readFileSync(file, 'utf8')
    // Inlined into a <script>: a closing tag inside it would end the script early.
    if (/<\/script|<!--/i.test(text)) throw new DrcError(`${file} cannot be inlined: it contains </script or <!--`)
    chartSource = text
  }

  return chartSource
}

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`

export function renderHtmlReport(data: HtmlReportData, opts: {title?: string} = {}): string {
  const chart = chartLibrary()
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(chart)} ${sha256(PAGE_SCRIPT)}`,
    "style-src 'unsafe-inline'",
    'img-src data:',
    "connect-src 'none'",
    "form-action 'none'",
    "base-uri 'none'",
  ].join('; ')
  const title = (opts.title ?? 'drc registry report').replaceAll(/[<>&"]/g, '')
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>${title}</title>`,
    `<style>${STYLE}</style>`,
    '</head><body>',
    `<header><h1>${title}</h1><div id="generated"></div></header>`,
    '<main id="main"></main>',
    `<script type="application/json" id="drc-data">${embedJson(data)}</script>`,
    `<script>${chart}</script>`,
    `<script>${PAGE_SCRIPT}</script>`,
    '</body></html>',
    '',
  ].join('\n')
}
