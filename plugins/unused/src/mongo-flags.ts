import {Flags} from '@oclif/core'
import {copyFile} from 'node:fs/promises'

/** The predecessor's flags of its MongoDB-only commands (domain-spec §3.10, §3.15) that drc keeps. */
export const mongoOnlyFlags = {
  'generate-reports': Flags.boolean({
    description: 'Accepted for the predecessor: drc always plans from MongoDB as it is now.',
    hidden: true,
  }),
  output: Flags.string({
    description: 'Also write the plan (dry run) or audit (--apply) report to exactly this path.',
    helpGroup: 'CHANGE',
  }),
}

/** --output: a copy of the report the store wrote (the store keeps its own). */
export async function copyReport(reportPath: null | string, output: string | undefined): Promise<void> {
  if (output && reportPath) await copyFile(reportPath, output)
}
