import {starterConfigYaml} from '@drc/core/config/starter.js'
import {BaseCommand} from '@drc/core/lib/base-command.js'
import {UsageError} from '@drc/core/lib/errors.js'
import {Flags} from '@oclif/core'
import {writeFile} from 'node:fs/promises'
import path from 'node:path'

export interface ConfigInitResult {
  path: string
}

export default class ConfigInit extends BaseCommand<typeof ConfigInit> {
  static description = `Write a commented starter configuration file.

Every configuration key is listed with its meaning and default as a comment; the keys an operator must set (registry.url, mongo.*, and with --backups s3.bucket and s3.region) are uncommented with placeholders to replace. Check the result with drc config show --config FILE. An existing file is never overwritten without --force.`
  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --output prod.yaml --backups',
  ]
  static flags = {
    backups: Flags.boolean({description: 'Also uncomment s3.bucket and s3.region (backups before deletion).'}),
    force: Flags.boolean({description: 'Overwrite FILE if it exists.'}),
    output: Flags.string({
      char: 'o',
      default: 'drc.config.yaml',
      description: 'File to write (relative to the working directory).',
    }),
  }

  async run(): Promise<ConfigInitResult> {
    const {flags} = await this.parse(ConfigInit)
    const file = path.resolve(flags.output)
    try {
      // 0600: operators may add passwords to it. `wx` refuses an existing file without a check-then-write race.
      await writeFile(file, starterConfigYaml({backups: flags.backups}), {flag: flags.force ? 'w' : 'wx', mode: 0o600})
    } catch (error) {
      const {code} = error as NodeJS.ErrnoException
      if (code === 'EEXIST')
        throw new UsageError(`${file} already exists: not overwritten`, [
          'pass --force to overwrite it',
          'or choose another file with --output FILE',
        ])
      throw new UsageError(`cannot write ${file}: ${code ?? (error as Error).message}`, [
        'choose a writable location with --output FILE',
      ])
    }

    this.log(`Wrote ${file}: replace the placeholders, then check it with drc config show --config ${flags.output}`)
    return {path: file}
  }
}
