import {Command, Flags, type Interfaces, ux} from '@oclif/core'

import type {DrcConfig, LoadedConfig} from '../config/types.js'

import {loadConfig} from '../config/load.js'
import {DrcError, UsageError} from './errors.js'
import {errorEnvelope, exitCodeOf, isExitRequest, successEnvelope} from './json-envelope.js'
import {formatTable, resolveTableFlags, type TableColumn, type TableFlagValues} from './table.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)['baseFlags'] & T['flags']
>
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/**
 * Base of every drc command: --json (one envelope for success and error, README "JSON output"), --config,
 * configuration loading (file < env < flags), exit codes from the one table in design.md, and the shared table.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static baseFlags = {
    config: Flags.string({
      description: 'Configuration file (default: CONFIG_FILE, then drc.config.yaml / .drcrc* / package.json#drc).',
      helpGroup: 'GLOBAL',
    }),
  }
  static enableJsonFlag = true
  /** The columns of the table the command prints, if any: --columns/--sort are checked against them before work. */
  static tableColumns?: ReadonlyArray<TableColumn<never>>
  protected args!: BaseArgs<T>
  protected flags!: BaseFlags<T>
  /** Every positional argument, flags removed (for commands with `strict = false` that take a list). */
  protected positional: string[] = []
  /** Warnings collected under --json (printed on stderr otherwise), for the envelope's `warnings`. */
  private readonly jsonWarnings: string[] = []

  protected async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    // One exit-code table (design.md): DrcError's own, 2 for oclif's parse errors, else 1.
    process.exitCode = exitCodeOf(err)
    if (isExitRequest(err)) throw err
    if (this.jsonEnabled()) {
      this.logJson(this.toErrorJson(err))
      return
    }

    if (err instanceof DrcError) {
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
    // A wrong column name fails now (exit 2), not after a long scan.
    const columns = (this.ctor as unknown as typeof BaseCommand).tableColumns
    if (columns) resolveTableFlags(columns, this.flags as TableFlagValues)
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

  /** A line around a table: stdout, or stderr under --csv so that stdout is only the CSV. */
  protected logAside(message: string): void {
    if ((this.flags as TableFlagValues).csv) this.logToStderr(message)
    else this.log(message)
  }

  /**
   * oclif's logJson re-tokenizes the pretty JSON to colour it even when no colour applies (~12 ms per 1,000 images
   * of a report). Without a JSON theme, or without colour on stdout, its output is exactly this `JSON.stringify`;
   * strings (oclif re-parses them) and cycles (oclif prints "[Circular ~…]") still go through oclif.
   */
  public logJson(json: unknown): void {
    const colour = this.config.theme?.json && (process.stdout.isTTY || process.env.FORCE_COLOR !== undefined)
    let text: string | undefined
    if (!colour && typeof json !== 'string') {
      try {
        text = JSON.stringify(json, null, 2)
      } catch {
        // A cycle: left to oclif, below.
      }
    }

    if (text === undefined) super.logJson(json)
    else ux.stdout(text)
  }

  /** Prints rows as a table (or CSV) the way --columns, --sort, --limit and --csv ask; nothing under --json. */
  protected async printTable<R>(rows: readonly R[], columns: ReadonlyArray<TableColumn<R>>): Promise<void> {
    if (this.jsonEnabled()) return
    this.log(await formatTable(rows, columns, this.flags as TableFlagValues))
  }

  public toErrorJson(err: unknown): unknown {
    const id = (this.id ?? '').replaceAll(':', this.config.topicSeparator)
    return errorEnvelope(err, `${this.config.bin} ${id} --help`, this.jsonWarnings)
  }

  public toSuccessJson(result: unknown): unknown {
    return successEnvelope(result, this.jsonWarnings)
  }

  /** Under --json a warning goes into the envelope instead of stderr, so no warning is lost to a script. */
  public warn(input: Error | string): Error | string {
    if (!this.jsonEnabled()) return super.warn(input)
    this.jsonWarnings.push(typeof input === 'string' ? input : input.message)
    return input
  }
}
