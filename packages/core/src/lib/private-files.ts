import {mkdirSync, writeFileSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'

/**
 * Reports, audits, journals and caches name user logins: files drc writes are readable by their owner only,
 * and directories drc creates are private. Existing directories keep their mode (output_dir may be shared on
 * purpose); `flag` 'wx' makes a create exclusive.
 */
export const PRIVATE_FILE = 0o600
export const PRIVATE_DIR = 0o700

export async function makePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, {mode: PRIVATE_DIR, recursive: true})
}

export function makePrivateDirSync(dir: string): void {
  mkdirSync(dir, {mode: PRIVATE_DIR, recursive: true})
}

export async function writePrivateFile(file: string, data: Buffer | string, flag: 'w' | 'wx' = 'w'): Promise<void> {
  await writeFile(file, data, {flag, mode: PRIVATE_FILE})
}

export function writePrivateFileSync(file: string, data: Buffer | string): void {
  writeFileSync(file, data, {mode: PRIVATE_FILE})
}
