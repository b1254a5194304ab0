import {ExitCode, type ExitCodeValue} from './exit-codes.js'

/**
 * An error an operator can act on: what went wrong, about which input, and what to do.
 * Commands turn it into the exit code it carries.
 */
export class DrcError extends Error {
  readonly exitCode: ExitCodeValue
  readonly suggestions: string[]

  constructor(message: string, opts: {cause?: unknown; exitCode?: ExitCodeValue; suggestions?: string[]} = {}) {
    super(message, {cause: opts.cause})
    this.name = 'DrcError'
    this.exitCode = opts.exitCode ?? ExitCode.FAILURE
    this.suggestions = opts.suggestions ?? []
  }
}

export class UsageError extends DrcError {
  constructor(message: string, suggestions: string[] = []) {
    super(message, {exitCode: ExitCode.USAGE, suggestions})
    this.name = 'UsageError'
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}
