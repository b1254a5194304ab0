import {readFileSync} from 'node:fs'

import {DrcError} from '../lib/errors.js'
import {ExitCode} from '../lib/exit-codes.js'

/** Why a configured CA file cannot be used, or null when it holds at least one PEM certificate. */
export function caFileProblem(file: string): null | string {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    return `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`
  }

  return text.includes('-----BEGIN CERTIFICATE-----') ? null : `${file} holds no PEM certificate`
}

/** The PEM text of a CA file named by configuration key `key` (validation already checked it; re-checked here). */
export function readCaFile(file: string, key: string): string {
  const problem = caFileProblem(file)
  if (problem) {
    throw new DrcError(`${key}: ${problem}`, {
      exitCode: ExitCode.USAGE,
      suggestions: [`set ${key} to a PEM file with the CA certificate(s) that signed the server certificate`],
    })
  }

  return readFileSync(file, 'utf8')
}

const warned = new Set<string>()

/** The loud, once-per-process-and-URL warning of registry.tls_verify: false. */
export function warnTlsVerifyOff(url: string): void {
  if (warned.has(url)) return
  warned.add(url)
  process.stderr.write(
    `WARNING: registry.tls_verify is false: the TLS certificate of ${url} is NOT verified; anyone between drc and ` +
      'the registry can read the credentials and change what drc sees. Set registry.ca_file to the private CA instead.\n',
  )
}
