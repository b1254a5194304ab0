import {UsageError} from '@drc/core/lib/errors.js'
import {ExitCode} from '@drc/core/lib/exit-codes.js'
import {errorEnvelope} from '@drc/core/lib/json-envelope.js'
import {Errors, type Hook} from '@oclif/core'
import {createInterface} from 'node:readline'

/** `@drc/plugin-unused` → `unused` when the CLI's `oclif.scope` is `drc` (what `drc plugins install unused` expands). */
export function shortPluginName(pluginName: string, scope: string | undefined): string | undefined {
  const prefix = scope ? `@${scope}/plugin-` : undefined
  return prefix && pluginName.startsWith(prefix) ? pluginName.slice(prefix.length) : undefined
}

function interactive(argv: string[]): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY) && !argv.includes('--json')
}

async function confirm(question: string): Promise<boolean> {
  // stderr: stdout stays for the command's own output.
  const rl = createInterface({input: process.stdin, output: process.stderr})
  const answer = await new Promise<string>((resolve) => {
    rl.question(`${question} (y/N) `, resolve)
    // Ctrl-D: no answer is a no.
    rl.once('close', () => resolve(''))
  })
  rl.close()
  return /^y(es)?$/i.test(answer.trim())
}

/**
 * A command of a strategy plugin listed in `oclif.jitPlugins` was run, and that plugin is not installed. On a terminal
 * we offer to install the pinned version and then oclif runs the command; otherwise (or when declined) we stop with
 * exit 2 and the exact install command, so a script's log says what to do.
 */
const hook: Hook.JitPluginNotInstalled = async function (options) {
  const {config} = this
  const spec = `${options.pluginName}@${options.pluginVersion}`
  const command = `${config.bin} ${options.id.replaceAll(':', config.topicSeparator)}`
  const what = `${command} is provided by ${spec}, which is not installed.`
  if (interactive(options.argv) && (await confirm(`${what} Install it now?`))) {
    await config.runCommand('plugins:install', [spec])
    return
  }

  const short = shortPluginName(options.pluginName, config.pjson.oclif.scope)
  const suggestions = [`install it: ${config.bin} plugins install ${spec}`]
  if (short) suggestions.push(`or by its short name: ${config.bin} plugins install ${short}`)
  if (options.argv.includes('--json')) {
    // The command never ran, so BaseCommand cannot print the envelope: a script still gets the one error shape.
    const envelope = errorEnvelope(new UsageError(what, suggestions), `${command} --help`, [])
    process.stdout.write(JSON.stringify(envelope, null, 2) + '\n')
    this.exit(ExitCode.USAGE)
  }

  throw new Errors.CLIError(what, {
    exit: ExitCode.USAGE,
    suggestions,
  })
}

export default hook
