import {spawnSync} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const BIN = path.join(REPO_ROOT, 'bin/run.js')

export interface CliResult {
  code: null | number
  json: () => unknown
  stderr: string
  stdout: string
}

/** oclif keeps linked plugins in its data dir: give each test its own, so nothing leaks between tests or into ~. */
export function isolatedOclifEnv(): Record<string, string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'drc-oclif-'))
  return {
    DRC_CACHE_DIR: path.join(dir, 'cache'),
    DRC_CONFIG_DIR: path.join(dir, 'config'),
    DRC_DATA_DIR: path.join(dir, 'data'),
  }
}

/** Runs the real binary (bin/run.js over dist/) in a child process, the way an operator does. */
export function runCli(
  args: string[],
  opts: {cwd?: string; env?: Record<string, string | undefined>; timeout?: number} = {},
): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    encoding: 'utf8',
    env: {...process.env, FORCE_COLOR: '0', NO_COLOR: '1', ...opts.env},
    timeout: opts.timeout ?? 60_000,
  })
  return {
    code: r.status,
    json: () => JSON.parse(r.stdout),
    stderr: r.stderr,
    stdout: r.stdout,
  }
}
