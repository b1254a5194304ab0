import {type ImageFilter, imageFilterFrom} from '@drc/core/analysis/id-filter.js'
import {BaseCommand} from '@drc/core/lib/base-command.js'
import {columnNames, type TableColumn, tableFlags} from '@drc/core/lib/table.js'
import {bytesCell} from '@drc/core/reports/format.js'
import {obtainImageAnalysis} from '@drc/core/reports/obtain.js'
import {writeReport} from '@drc/core/reports/store.js'
import {Flags} from '@oclif/core'

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
  /** The --file/--object-id/--tag-prefix selection, or null when every image is listed. */
  filter: null | {ids: string[]; tag_prefixes: string[]}
  images: ImageSizeRow[]
  path: string
}

const COLUMNS: Array<TableColumn<ImageSizeRow>> = [
  {header: 'REPOSITORY', key: 'repository', value: (i) => i.repository},
  {header: 'TAGS', key: 'tags', value: (i) => i.tags},
  {align: 'right', format: bytesCell, header: 'TOTAL', key: 'total_bytes', value: (i) => i.total_bytes},
  {
    align: 'right',
    format: bytesCell,
    header: 'FREED IF DELETED ALONE',
    key: 'freed_bytes_alone',
    value: (i) => i.freed_bytes_alone,
  },
  {header: 'DIGEST', key: 'digest', value: (i) => i.digest},
]

export default class ReportImageSize extends BaseCommand<typeof ReportImageSize> {
  static description = `List the largest images: total size, and the bytes deleting each one alone would free.

Uses the latest image analysis when it is fresh (see drc reports), else scans the registry. Writes image-size-report-<UTC timestamp>.json to analysis.output_dir (or --output).

--file, --object-id and --tag-prefix list only the images with a matching tag (an id matches the tags that are the id or start with "<id>-"). The filter selects rows; sizes are still computed registry-wide, so the bytes freed by deleting an image count its layers as shared when any image outside the selection uses them.

Table columns (--columns, --sort): ${columnNames(COLUMNS)}.

Alias (the predecessor's name): drc image_size_report`
  static examples = [
    '<%= config.bin %> <%= command.id %> --limit 20',
    '<%= config.bin %> <%= command.id %> --file ids.txt',
    '<%= config.bin %> <%= command.id %> --object-id 68e64edfcaf3254005314c90',
    '<%= config.bin %> <%= command.id %> --tag-prefix 68e66410',
    '<%= config.bin %> <%= command.id %> --generate-reports --json',
    '<%= config.bin %> <%= command.id %> --sort=-total_bytes --columns tags,total_bytes --csv',
  ]
  static flags = {
    ...tableFlags,
    file: Flags.string({
      description:
        'Only images of the ObjectIds in this file: one per line, environment:<id>, environmentRevision:<id> or model:<id>; # comments.',
    }),
    'generate-reports': Flags.boolean({description: 'Scan again even if a fresh image analysis exists.'}),
    // Unlike the shared table --limit, this one also limits the --json rows and the report (the predecessor's flag).
    limit: Flags.integer({
      default: 50,
      description: 'How many images to list, in the table, --json and the report (0: all).',
      helpGroup: 'TABLE',
      min: 0,
    }),
    'max-age-hours': Flags.integer({
      default: 24,
      description: 'An image analysis older than this is regenerated.',
      min: 0,
    }),
    'object-id': Flags.string({
      description: 'Only images whose tag is this ObjectId or starts with "<id>-" (repeatable).',
      multiple: true,
    }),
    output: Flags.string({description: 'Write the report to exactly this path.'}),
    repository: Flags.string({description: 'Only images of this repository.'}),
    'tag-prefix': Flags.string({
      description: 'Only images with a tag starting with this (repeatable).',
      multiple: true,
    }),
  }
  // The predecessor's name keeps working for scripts; hidden so help lists each command once.
  static hiddenAliases = ['image_size_report']
  static summary = 'Largest images and what deleting each would free.'
  static tableColumns = COLUMNS

  async run(): Promise<ImageSizeResult> {
    // Validated before anything else: a bad id file stops the command before it scans anything (exit 2).
    const filter: ImageFilter | null = await imageFilterFrom({
      file: this.flags.file,
      objectIds: this.flags['object-id'],
      tagPrefixes: this.flags['tag-prefix'],
    })
    const config = await this.loadDrcConfig()
    const got = await obtainImageAnalysis(config, {
      generate: this.flags['generate-reports'],
      maxAgeHours: this.flags['max-age-hours'],
      quiet: this.jsonEnabled(),
    })
    const all = got.report.images
      .filter((i) => !this.flags.repository || i.repository === this.flags.repository)
      .filter((i) => !filter || i.tags.some((t) => filter.matches(t)))
      .map((i) => ({
        digest: i.digest,
        freed_bytes_alone: i.unique_bytes,
        repository: i.repository,
        tags: i.tags,
        total_bytes: i.total_bytes,
      }))
    const images = this.flags.limit > 0 ? all.slice(0, this.flags.limit) : all
    const filterOut = filter ? {ids: filter.ids, tag_prefixes: filter.prefixes} : null
    const written = await writeReport(
      config,
      'image-size-report',
      {analysis: got.path, filter: filterOut, images},
      {output: this.flags.output},
    )
    const result = {analysis_path: got.path, filter: filterOut, images, path: written.path}
    if (!this.jsonEnabled()) {
      await this.printTable(images, COLUMNS)
      this.logAside(`\nReport: ${written.path}`)
    }

    return result
  }
}
