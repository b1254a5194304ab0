import {KEYS} from './keys.js'

function shown(value: unknown): string {
  if (value === null) return ''
  if (Array.isArray(value)) return value.length > 0 ? value.join(', ') : ''
  return `\`${String(value)}\``
}

/** The configuration reference table of the README, generated from the one key table. */
export function configReferenceMarkdown(): string {
  const rows = KEYS.map(
    (k) =>
      `| \`${k.path}\` | ${k.type} | ${shown(k.default)} | ${(k.env ?? []).map((e) => `\`${e}\``).join(', ')} | ${k.description}${k.secret ? ' (secret)' : ''} |`,
  )
  return ['| key | type | default | environment | meaning |', '|---|---|---|---|---|', ...rows].join('\n')
}
