import {type ChildProcess, spawn} from 'node:child_process'

import {BIN, REPO_ROOT} from '../../../test/support/cli.js'

/**
 * bin/run.js in a child process without blocking this one: the node simulator runs in the mocha process
 * and must keep answering while the command runs (spawnSync would freeze it).
 */
export async function runCli(
  args: string[],
  opts: {
    /** Run this instead of bin/run.js (e.g. under `script` for a terminal). */
    command?: string[]
    env: Record<string, string>
    /** Called with everything written to stdout so far. */
    onOutput?: (soFar: string, child: ChildProcess) => void
    /** Called with everything written to stderr so far. */
    onStderr?: (soFar: string, child: ChildProcess) => void
  },
): Promise<{code: null | number; json: () => unknown; stderr: string; stdout: string}> {
  const [cmd, ...rest] = opts.command ?? [process.execPath, BIN, ...args]
  const child = spawn(cmd, rest, {
    cwd: REPO_ROOT,
    env: {...process.env, FORCE_COLOR: '0', NO_COLOR: '1', ...opts.env},
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  if (!opts.command) child.stdin.end()
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString()
    opts.onOutput?.(stdout, child)
  })
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
    opts.onStderr?.(stderr, child)
  })
  const code = await new Promise<null | number>((resolve) => {
    child.on('close', (c) => resolve(c))
  })
  return {code, json: () => JSON.parse(stdout).result, stderr, stdout}
}
