/**
 * Not an oclif hook: bin/run.js (and the test setup, for @oclif/test) call this before oclif reads the manifest.
 *
 * `npm run build` writes oclif.manifest.json so that oclif imports only the command it runs, instead of every
 * command file to list them (~0.1 s of every drc process). oclif trusts any manifest it finds, so one older than
 * the last compile (`npx tsc -b` alone) would hide new commands and show old flags in help: such a manifest is
 * deleted, and oclif reads the commands from dist/ as it would without one. Only a checkout has build info
 * (`npm pack` leaves *.tsbuildinfo out), so the manifest of an installed CLI is never touched.
 */
import {rmSync, statSync} from 'node:fs'
import path from 'node:path'

const MANIFEST = 'oclif.manifest.json'
/** What a manifest is made from: the compiled CLI (its commands), core (their shared flags), the oclif section. */
const INPUTS = ['dist/.tsbuildinfo', 'packages/core/dist/.tsbuildinfo', 'package.json']

function mtime(file: string): number | undefined {
  try {
    return statSync(file).mtimeMs
  } catch {
    return undefined
  }
}

/** Deletes `<root>/oclif.manifest.json` when a checkout was built or edited after it; true when it did. */
export function dropStaleManifest(root: string): boolean {
  const written = mtime(path.join(root, MANIFEST))
  if (written === undefined || mtime(path.join(root, INPUTS[0])) === undefined) return false
  if (!INPUTS.some((f) => (mtime(path.join(root, f)) ?? 0) > written)) return false
  try {
    rmSync(path.join(root, MANIFEST), {force: true})
    return true
  } catch {
    // A read-only install: oclif uses the manifest as it is.
    return false
  }
}
