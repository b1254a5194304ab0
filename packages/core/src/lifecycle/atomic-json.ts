import {randomBytes} from 'node:crypto'
import {rename, unlink} from 'node:fs/promises'
import path from 'node:path'

import {makePrivateDir, writePrivateFile} from '../lib/private-files.js'

/**
 * Writes `text` to `file` (mode 0600) through a temporary file and a rename: a crash leaves either the previous
 * content or the new one, never half a file.
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  await makePrivateDir(path.dirname(file))
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await writePrivateFile(tmp, text, 'wx')
    await rename(tmp, file)
  } catch (error) {
    await unlink(tmp).catch(() => {})
    throw error
  }
}

/** {@link writeFileAtomic} of `data` as JSON (undo journals rely on this: they are rewritten after every change). */
export async function writeJsonAtomic(file: string, data: unknown): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(data, null, 2)}\n`)
}
