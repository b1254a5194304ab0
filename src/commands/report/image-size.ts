import {Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/base-command.js'
import {humanBytes, table} from '../../reports/format.js'
import {obtainImageAnalysis} from '../../reports/obtain.js'
import {writeReport} from '../../reports/store.js'

export interface ImageSizeRow {
  digest: string
  /** Bytes freed if this image alone were deleted (layers shared with any other image are not counted). */
  freed_bytes_alone: number
  repository: string
  tags: string[]
  total_bytes: number
}

export interface ImageSizeResult {
  analysis_path: string
  images: ImageSizeRow[]
  path: string
}

export default class ReportImageSize extends BaseCommand<typeof ReportImageSize> {
  static aliases = ['image_size_report']
  static description = `List the largest images: total size, and the bytes deleting each one alone would free.

Uses the latest image analysis when it is fresh (see drc reports), else scans the registry.
Writes image-size-report-<UTC timestamp>.json to analysis.output_dir (or --output).`
  static examples = [
    '<%= config.bin %> <%= command.id %> --limit 20',
    '<%= config.bin %> <%= command.id %> --generate-reports --json',
  ]
  static flags = {
    'generate-reports': Flags.boolean({description: 'Scan again even if a fresh image analysis exists.'}),
    limit: Flags.integer({default: 50, description: 'How many images to list (0: all).', min: 0}),
    'max-age-hours': Flags.integer({
      default: 24,
      description: 'An image analysis older than this is regenerated.',
      min: 0,
    }),
    output: Flags.string({description: 'Write the report to exactly this path.'}),
    repository: Flags.string({description: 'Only images of this repository.'}),
  }
  static summary = 'Largest images and what deleting each would free.'

  async run(): Promise<ImageSizeResult> {
    const config = await this.loadDrcConfig()
    const got = await obtainImageAnalysis(config, {
      generate: this.flags['generate-reports'],
      maxAgeHours: this.flags['max-age-hours'],
      quiet: this.jsonEnabled(),
    })
    const all = got.report.images
      .filter((i) => !this.flags.repository || i.repository === this.flags.repository)
      .map((i) => ({
        digest: i.digest,
        freed_bytes_alone: i.unique_bytes,
        repository: i.repository,
        tags: i.tags,
        total_bytes: i.total_bytes,
      }))
    const images = this.flags.limit > 0 ? all.slice(0, this.flags.limit) : all
    const written = await writeReport(
      config,
      'image-size-report',
      {analysis: got.path, images},
      {output: this.flags.output},
    )
    const result = {analysis_path: got.path, images, path: written.path}
    if (!this.jsonEnabled()) {
      this.log(
        table(images, [
          {header: 'IMAGE', value: (i) => `${i.repository}:${i.tags.join(',')}`},
          {align: 'right', header: 'TOTAL', value: (i) => humanBytes(i.total_bytes)},
          {align: 'right', header: 'FREED IF DELETED ALONE', value: (i) => humanBytes(i.freed_bytes_alone)},
        ]),
      )
      this.log(`\nReport: ${written.path}`)
    }

    return result
  }
}
