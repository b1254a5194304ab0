/**
 * `npm run bench`: each section is an exported function returning rows (or a markdown table); sections run in
 * order on this machine, against real local services. Add a section by appending to SECTIONS.
 *   --concurrency N (default 8), --only <section>; BENCH_SIZES=1000,10000 (images of the registry-scan section)
 */
import {benchDeletion} from '../bench/deletion.js'
import {benchHtml} from '../bench/html.js'
import {benchRegistryScan, type BenchRow} from '../bench/registry-scan.js'
import {benchUsage, usageBenchRows} from '../bench/usage.js'
import {startRegistry} from '../test/support/registry.js'

export interface BenchSection {
  name: string
  run(opts: BenchOptions): Promise<BenchRow[] | string>
}

export interface BenchOptions {
  concurrency: number
  sizes: number[]
}

export const SECTIONS: BenchSection[] = [
  {
    name: 'registry scan',
    async run(opts) {
      const reg = await startRegistry()
      try {
        return await benchRegistryScan({concurrency: opts.concurrency, registryUrl: reg.url, sizes: opts.sizes})
      } finally {
        await reg.stop()
      }
    },
  },
  {
    // Sizes: BENCH_USAGE_RUNS (comma-separated run counts; default 200000,50000 over 20,000 revisions).
    name: 'usage graph',
    async run() {
      return usageBenchRows(await benchUsage({log() {}}))
    },
  },
  {
    // --apply of BENCH_DELETE_SIZES (default 250,1000) planned images vs a bare HEAD+DELETE+HEAD loop, same run;
    // the live re-check per image at 20,000 revisions / BENCH_RECHECK_RUNS (default 200000) runs.
    name: 'deletion',
    run: () => benchDeletion(),
  },
  {
    // A 50,000-image HTML report opened in headless Chromium (Debian chromium; issue 13 target: under 2 s).
    name: 'html report',
    run: () => benchHtml(),
  },
]

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback
}

export async function main(): Promise<void> {
  const sizes = (process.env.BENCH_SIZES ?? '1000,10000')
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0)
    .sort((a, b) => a - b)
  const opts: BenchOptions = {concurrency: Number(arg('concurrency', '8')), sizes}
  const only = arg('only', '')
  for (const section of SECTIONS) {
    if (only && section.name !== only) continue
    // eslint-disable-next-line no-await-in-loop
    const rows = await section.run(opts)
    process.stdout.write(`\n== ${section.name} ==\n`)
    if (typeof rows === 'string') {
      process.stdout.write(`${rows}\n`)
      continue
    }

    const width = Math.max(...rows.map((r) => r.name.length))
    for (const r of rows)
      process.stdout.write(
        `  ${r.name.padEnd(width)}  ${String(r.value).padStart(8)}${r.notes ? `   (${r.notes})` : ''}\n`,
      )
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main()
  process.exit(0)
}
