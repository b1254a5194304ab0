import {Flags} from '@oclif/core'

import type {SummaryStats} from '../analysis/graph.js'
import type {AnalysisStats} from '../analysis/service.js'

import {BaseCommand} from '../lib/base-command.js'
import {humanBytes, table} from '../reports/format.js'
import {IMAGE_ANALYSIS, type ImageEntry} from '../reports/image-analysis.js'
import {obtainImageAnalysis} from '../reports/obtain.js'
import {writeReport} from '../reports/store.js'

export interface ReportsResult {
  generated_at: string
  images: ImageEntry[]
  path: string
  repositories: Array<{repository: string; tags: number}>
  reused: boolean
  scan: AnalysisStats | null
  summary: SummaryStats
  /** JOIN POINT: the tag usage summary from the usage graph (src/usage) goes here; null until it is wired. */
  usage: null
}

export default class Reports extends BaseCommand<typeof Reports> {
  static description = `Analyse the registry: every image of <repository>/environment and <repository>/model (or the
configured registry.scan_repositories), its total size, what deleting it alone would free, and how layers are shared.

A report younger than --max-age-hours is reused unless --generate-reports is given. Reports are written to
analysis.output_dir as image-analysis-<UTC timestamp>.json, with image-analysis-latest.json pointing at the newest.`
  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --generate-reports --json',
    '<%= config.bin %> <%= command.id %> --all-repositories --output /tmp/analysis.json',
  ]
  static flags = {
    'all-repositories': Flags.boolean({description: 'Scan every repository in the registry catalog.'}),
    'generate-reports': Flags.boolean({description: 'Scan again even if a fresh report exists.'}),
    'max-age-hours': Flags.integer({
      default: 24,
      description: 'A report older than this is stale and regenerated.',
      min: 0,
    }),
    output: Flags.string({description: 'Also write the report to exactly this path.'}),
    top: Flags.integer({default: 10, description: 'Largest images to list in the human output.', min: 0}),
  }
  static summary = 'Analyse registry images, shared layers and reclaimable space.'

  async run(): Promise<ReportsResult> {
    const config = await this.loadDrcConfig()
    const got = await obtainImageAnalysis(config, {
      allRepositories: this.flags['all-repositories'],
      generate: this.flags['generate-reports'],
      maxAgeHours: this.flags['max-age-hours'],
      quiet: this.jsonEnabled(),
    })
    if (this.flags.output)
      await writeReport(config, IMAGE_ANALYSIS.name, got.report, {
        output: this.flags.output,
        schemaVersion: IMAGE_ANALYSIS.version,
      })
    // JOIN POINT: once the usage graph exists, load it here and attach the tag usage summary (in use / unused per tag).
    const result: ReportsResult = {
      generated_at: got.generatedAt,
      images: got.report.images,
      path: this.flags.output ?? got.path,
      repositories: got.report.repositories,
      reused: got.reused,
      scan: got.reused ? null : got.report.scan,
      summary: got.report.summary,
      usage: null,
    }
    if (!this.jsonEnabled()) this.print(result)
    return result
  }

  private print(r: ReportsResult): void {
    const s = r.summary
    this.log(`${r.reused ? 'Reusing' : 'Wrote'} ${r.path} (${r.generated_at})`)
    this.log(`Repositories: ${r.repositories.map((x) => `${x.repository} (${x.tags} tags)`).join(', ')}`)
    this.log(
      `Images: ${s.total_images} (${s.total_tags} tags)   Layers: ${s.total_layers} (${humanBytes(s.total_size_bytes)})   Stored: ${humanBytes(s.total_stored_bytes)}`,
    )
    this.log(
      `Single-use layers: ${s.single_use_layers} (${humanBytes(s.single_use_size_bytes)})   Shared layers: ${s.shared_layers} (${humanBytes(s.shared_size_bytes)})`,
    )
    this.log(`Average layers per image: ${s.avg_layers_per_image}   Average layer ref count: ${s.avg_ref_count}`)
    const top = r.images.slice(0, this.flags.top)
    if (top.length === 0) return
    this.log('')
    this.log(
      table(top, [
        {header: 'IMAGE', value: (i) => `${i.repository}:${i.tags.join(',')}`},
        {align: 'right', header: 'TOTAL', value: (i) => humanBytes(i.total_bytes)},
        {align: 'right', header: 'UNIQUE', value: (i) => humanBytes(i.unique_bytes)},
        {align: 'right', header: 'SHARED', value: (i) => humanBytes(i.shared_bytes)},
        {align: 'right', header: 'LAYERS', value: (i) => i.layers},
      ]),
    )
  }
}
