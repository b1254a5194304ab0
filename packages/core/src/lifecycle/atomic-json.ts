import {randomBytes} from 'node:crypto'
import {rename, unlink} from 'node:fs/promises'
import path from 'node:path'

import {makePrivateDir, writePrivateFile} from '../lib/private-files.js'

/**
 * Writes `data` as JSON to `file` (mode 0600) through a temporary file and a rename: a crash leaves either the
 * previous content or the new one, never half a file. Journals rely on this (they are rewritten after every item).
 */
export async function writeJsonAtomic(file: string, data: unknown): Promise<void> {
  await makePrivateDir(path.dirname(file))
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await writePrivateFile(tmp, `${JSON.stringify(data, null, 2)}\n`, 'wx')
    await rename(tmp, file)
  } catch (error) {
    await unlink(tmp).catch(() => {})
    throw error
  }
}
