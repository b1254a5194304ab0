import os from 'node:os'
import path from 'node:path'

/** Where the test services are installed, outside the repository (`DRC_TEST_CACHE`, default `~/.cache/drc-test`). */
export function cacheDir(): string {
  return process.env.DRC_TEST_CACHE ?? path.join(os.homedir(), '.cache', 'drc-test')
}
