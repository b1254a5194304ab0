import {KEYS} from '@drc/core/config/keys.js'
import {flattenConfig, redactValue} from '@drc/core/config/redact.js'
import {BaseCommand} from '@drc/core/lib/base-command.js'
import {ExitCode} from '@drc/core/lib/exit-codes.js'
import {ux} from '@oclif/core'

interface ShownValue {
  path: string
  source: string
  value: unknown
}

export interface ConfigShowResult {
  errors: Array<{message: string; path: string}>
  file: null | string
  valid: boolean
  values: ShownValue[]
  warnings: Array<{message: string; path: string}>
}

export default class ConfigShow extends BaseCommand<typeof ConfigShow> {
  static description = `Print the effective configuration, where each value comes from, and what is wrong with it.

Values are resolved as: defaults < configuration file < environment variables < command flags.
Secrets (passwords, URIs with credentials) are shown as ***. An invalid configuration is still shown,
with each problem naming its key on stderr; the exit code is then 2.`
  static examples = [
    '<%= config.bin %> <%= command.id %>',
    'CONFIG_FILE=./prod.yaml <%= config.bin %> <%= command.id %> --json',
  ]
  static summary = 'Show the effective configuration, where each value comes from, and its problems.'

  async run(): Promise<ConfigShowResult> {
    const loaded = await this.loadConfigRaw()
    const values = flattenConfig(loaded.config).map(({path, value}) => ({
      path,
      source: loaded.sources[path] ?? 'default',
      value: redactValue(path, value),
    }))
    const result: ConfigShowResult = {
      errors: loaded.errors,
      file: loaded.file,
      valid: loaded.errors.length === 0,
      values,
      warnings: loaded.warnings,
    }
    if (!this.jsonEnabled()) this.print(result)
    if (!result.valid) process.exitCode = ExitCode.USAGE
    return result
  }

  private print(result: ConfigShowResult): void {
    this.log(`Configuration file: ${result.file ?? '(none found)'}`)
    const width = Math.max(...KEYS.map((k) => k.path.length))
    for (const v of result.values) {
      const shown = v.value === null ? '-' : Array.isArray(v.value) ? v.value.join(',') || '-' : String(v.value)
      this.log(`  ${v.path.padEnd(width)}  ${shown.padEnd(28)}  ${ux.colorize('dim', v.source)}`)
    }

    // Values are the output (stdout); what is wrong with them is diagnostics (stderr), so a pipe gets only the table.
    for (const w of result.warnings) this.logToStderr(ux.colorize('yellow', `warning: ${w.path}: ${w.message}`))
    for (const e of result.errors) this.logToStderr(ux.colorize('red', `error: ${e.path}: ${e.message}`))
    if (result.valid) this.log('Configuration is valid.')
    else this.logToStderr(`Configuration is invalid (${result.errors.length} problem(s)): fix the keys named above.`)
  }
}
