import {KEYS, type KeySpec} from './keys.js'

const WIDTH = 118

/** Word-wraps `text` into `# ` comment lines indented by `indent`; continuation lines are indented further. */
function comment(text: string, indent: string): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + 4 + line.length + 1 + word.length > WIDTH) {
      lines.push(`${indent}# ${line}`)
      // Continuation lines are indented, so none reads like a commented-out `key: value`.
      line = `  ${word}`
    } else line = line ? `${line} ${word}` : word
  }

  if (line) lines.push(`${indent}# ${line}`)
  return lines
}

// JSON scalars and arrays are valid YAML, and quoting every string keeps values like `auto` or `rs0` strings.
const yamlValue = (value: KeySpec['default']): string => (value === null ? '' : JSON.stringify(value))

/**
 * The commented starter configuration file of `drc config init`, generated from the key table: every key with
 * its meaning, environment variables and default as comments; the keys an operator must set (the table's
 * `starter` placeholders; the S3 ones only with `backups`) uncommented. The result loads and validates.
 */
export function starterConfigYaml(opts: {backups?: boolean} = {}): string {
  const active = (k: KeySpec) => k.starter !== undefined && (!k.starter.backups || opts.backups === true)
  const out = [
    '# drc configuration file (written by `drc config init`; see the README, section Configuration).',
    '# Precedence: defaults < this file < environment variables < command flags. `drc config show` prints the result.',
    '# Uncommented keys are the ones to set for your deployment: replace the placeholders. Passwords are better',
    '# given by environment variable or read from the Kubernetes secrets than written here.',
  ]
  const sections = [...new Set(KEYS.map((k) => k.path.split('.')[0]))]
  for (const section of sections) {
    const keys = KEYS.filter((k) => k.path.startsWith(`${section}.`))
    // A section with no active key stays commented: an empty mapping would load as an unknown `null` key.
    out.push('', keys.some((k) => active(k)) ? `${section}:` : `# ${section}:`)
    for (const k of keys) {
      const key = k.path.slice(section.length + 1)
      const env = k.env ? ` Environment: ${k.env.join(', ')}.` : ''
      const def =
        k.default === null || (Array.isArray(k.default) && k.default.length === 0) ? 'unset' : yamlValue(k.default)
      out.push(
        ...comment(`${k.description}${k.secret ? ' (secret)' : ''}. Default: ${def}.${env}`, '  '),
        active(k) ? `  ${key}: ${yamlValue(k.starter!.value)}` : `  # ${key}: ${yamlValue(k.default)}`,
      )
    }
  }

  return `${out.map((l) => l.trimEnd()).join('\n')}\n`
}
