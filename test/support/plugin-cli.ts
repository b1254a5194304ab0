import path from 'node:path'

import {isolatedOclifEnv, REPO_ROOT, runCli} from './cli.js'

/** An oclif data dir with the given strategy plugins linked, as `drc plugins link` does for an operator. */
export function linkedPluginsEnv(...plugins: string[]): Record<string, string> {
  const env = isolatedOclifEnv()
  for (const p of plugins) {
    const r = runCli(['plugins', 'link', path.join(REPO_ROOT, 'plugins', p), '--no-install'], {env})
    if (r.code !== 0) throw new Error(`linking plugin ${p} failed: ${r.stderr}`)
  }

  return env
}
