import {UsageError} from '../lib/errors.js'

/**
 * Invariant 1: --apply asks unless --force; without a terminal to ask on, it refuses (exit 2) rather than guess.
 * Called before anything is read, so a refused run costs nothing.
 */
export function assertCanConfirm(opts: {force: boolean; requireConfirmation: boolean; stdinIsTTY: boolean}): void {
  if (opts.force || !opts.requireConfirmation || opts.stdinIsTTY) return
  throw new UsageError('--apply needs a confirmation, and there is no terminal to ask on (stdin is not a TTY)', [
    'run it in a terminal to confirm interactively',
    'or pass --force to delete without asking (for automation; run without --apply first to see the plan)',
  ])
}

/** Asks a yes/no question on stderr; only an explicit "y"/"yes" is a yes. */
export async function askYesNo(question: string): Promise<boolean> {
  const {createInterface} = await import('node:readline/promises')
  const rl = createInterface({input: process.stdin, output: process.stderr})
  try {
    const answer = await rl.question(`${question} [y/N] `)
    return /^y(es)?$/i.test(answer.trim())
  } finally {
    rl.close()
  }
}
