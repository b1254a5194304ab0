import {Command, Flags, type Interfaces} from '@oclif/core'

import type {DrcConfig, LoadedConfig} from '../config/types.js'

import {loadConfig} from '../config/load.js'
import {DrcError, UsageError} from './errors.js'
import {ExitCode} from './exit-codes.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)['baseFlags'] & T['flags']
>
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/**
 * Base of every drc command: --json, --config, configuration loading (file < env < flags),
 * and exit codes from the one table in design.md.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static baseFlags = {
    config: Flags.string({
      description: 'Configuration file (default: CONFIG_FILE, then drc.config.yaml / .drcrc* / package.json#drc).',
      helpGroup: 'GLOBAL',
    }),
  }
  static enableJsonFlag = true
  protected args!: BaseArgs<T>
  protected flags!: BaseFlags<T>
  /** Every positional argument, flags removed (for commands with `strict = false` that take a list). */
  protected positional: string[] = []

  protected async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    // oclif 4 prefers err.exitCode over oclif.exit under --json; keep one table (style.md §6.6).
    process.exitCode = err.oclif?.exit ?? err.exitCode ?? ExitCode.FAILURE
    if (err instanceof DrcError && !this.jsonEnabled()) {
      const hints = err.suggestions.map((s) => `\n  → ${s}`).join('')
      this.logToStderr(`Error: ${err.message}${hints}`)
      this.exit(err.exitCode)
    }

    return super.catch(err)
  }

  /** Maps this command's flags to configuration paths; flags win over file and environment. */
  protected configFlags(): Record<string, unknown> {
    return {}
  }

  public async init(): Promise<void> {
    await super.init()
    const {args, argv, flags} = await this.parse({
      args: this.ctor.args,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      flags: this.ctor.flags,
      strict: this.ctor.strict,
    })
    this.flags = flags as BaseFlags<T>
    this.args = args as BaseArgs<T>
    this.positional = argv as string[]
  }

  protected async loadConfigRaw(): Promise<LoadedConfig> {
    return loadConfig({file: this.flags.config, flags: this.configFlags()})
  }

  /** Loads the configuration and refuses (exit 2) when it is invalid, naming every bad key. */
  protected async loadDrcConfig(): Promise<DrcConfig> {
    const loaded = await this.loadConfigRaw()
    for (const w of loaded.warnings) this.warn(`${w.path}: ${w.message}`)
    if (loaded.errors.length > 0) {
      const lines = loaded.errors.map((e) => (e.message.startsWith(e.path) ? e.message : `${e.path}: ${e.message}`))
      throw new UsageError(`invalid configuration: ${lines.join('; ')}`, [
        'fix the value in the configuration file, environment variable or flag named above',
        'run `drc config show` to see where each value comes from',
      ])
    }

    return loaded.config
  }
}
