import {stripVTControlCharacters} from 'node:util'

import {DrcError} from './errors.js'
import {ExitCode} from './exit-codes.js'

/** What `--json` prints when a command succeeds (README, "JSON output"): the stable schema, version 1. */
export interface SuccessEnvelope<T = unknown> {
  result: T
  /** The exit code (0, or e.g. 3/4 when the command finished but reports refusal or partial failure). */
  status: number
  warnings: string[]
}

/** What `--json` prints when a command fails: one shape for DrcError, UsageError and oclif's parse errors. */
export interface ErrorEnvelope {
  actions: string[]
  exitCode: number
  message: string
  name: string
  status: number
  warnings: string[]
}

type AnyError = Error & {code?: string; exitCode?: number; oclif?: {exit?: number}; parse?: unknown}

/** oclif's `this.exit(n)`: not a failure to report, only an exit code to keep. */
export function isExitRequest(err: unknown): boolean {
  return err instanceof Error && (err as AnyError).code === 'EEXIT'
}

/** oclif's parser errors (unknown flag, missing argument, bad flag value) carry the parse state. */
function isParseError(err: AnyError): boolean {
  return 'parse' in err && err.oclif !== undefined
}

/** The exit code of design.md's table: DrcError's own, 2 for oclif's usage errors, else 1. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof DrcError) return err.exitCode
  const e = err as AnyError
  if (e?.oclif?.exit !== undefined) return e.oclif.exit
  if (typeof e?.exitCode === 'number') return e.exitCode
  return ExitCode.FAILURE
}

function errorName(err: AnyError): string {
  if (err.name && err.name !== 'Error') return err.name
  const ctor = err.constructor?.name
  return ctor && ctor !== 'Object' ? ctor : 'Error'
}

/** Builds the error envelope; `helpCommand` is how to ask for this command's help (e.g. `drc reports --help`). */
export function errorEnvelope(err: unknown, helpCommand: string, warnings: string[]): ErrorEnvelope {
  const e: AnyError = err instanceof Error ? err : new Error(String(err))
  const exitCode = exitCodeOf(e)
  // oclif appends a help hint and colours its messages; the hint becomes an action, the message stays plain.
  const message = stripVTControlCharacters(e.message)
    .replace(/\n*See more help with --help\s*$/, '')
    .replaceAll(/ *\n\t/g, ': ')
    .trim()
  const actions =
    e instanceof DrcError
      ? [...e.suggestions]
      : [
          ...((e as {suggestions?: string[]}).suggestions ?? []),
          ...(isParseError(e) || exitCode === ExitCode.USAGE
            ? [`see \`${helpCommand}\` for the flags and arguments`]
            : []),
        ]
  return {actions, exitCode, message, name: errorName(e), status: exitCode, warnings}
}

export function successEnvelope<T>(result: T, warnings: string[]): SuccessEnvelope<T> {
  const code = Number(process.exitCode ?? 0)
  return {result, status: Number.isNaN(code) ? ExitCode.FAILURE : code, warnings}
}
