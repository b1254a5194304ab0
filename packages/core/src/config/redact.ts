import type {DrcConfig} from './types.js'

import {KEYS} from './keys.js'

export const REDACTED = '***'

/** Secret values never leave the process: a URI keeps its shape with the password replaced. */
export function redactValue(path: string, value: unknown): unknown {
  const spec = KEYS.find((k) => k.path === path)
  if (!spec?.secret || value === null || value === undefined || value === '') return value
  if (typeof value === 'string' && /^[a-z+]+:\/\//i.test(value)) {
    try {
      const url = new URL(value)
      if (url.password) url.password = REDACTED
      return url.toString()
    } catch {
      return REDACTED
    }
  }

  return REDACTED
}

export function flattenConfig(config: DrcConfig): Array<{path: string; value: unknown}> {
  return KEYS.map((k) => {
    const [section, key] = k.path.split('.') as [keyof DrcConfig, string]
    return {path: k.path, value: (config[section] as Record<string, unknown>)[key]}
  })
}
