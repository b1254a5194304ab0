import {z} from 'zod'

import type {DrcConfig} from './types.js'

import {KEYS, type KeySpec} from './keys.js'

const BY_TYPE: Record<KeySpec['type'], () => z.ZodType> = {
  boolean: () => z.boolean(),
  integer: () => z.number().int(),
  number: () => z.number(),
  string: () => z.string().nullable(),
  'string[]': () => z.array(z.string()),
}

let built: undefined | z.ZodType<DrcConfig>

/**
 * The one schema of the effective configuration, built from the key table: each key's rule (or its type), then
 * the rules that read other keys. Warnings are issues with `params.warning`. The cross-key rules run even when a
 * value broke its own rule, so every problem is reported at once.
 */
export function configSchema(): z.ZodType<DrcConfig> {
  if (built) return built
  const sections: Record<string, Record<string, z.ZodType>> = {}
  for (const k of KEYS) {
    const [section, key] = k.path.split('.')
    sections[section] ??= {}
    sections[section][key] = k.rule ?? BY_TYPE[k.type]()
  }

  const shape = Object.fromEntries(Object.entries(sections).map(([name, keys]) => [name, z.object(keys)]))
  built = z.object(shape).superRefine(
    (config, ctx) => {
      for (const k of KEYS) {
        if (!k.cross) continue
        let found
        try {
          found = k.cross(config as unknown as DrcConfig)
        } catch {
          continue // a value of the wrong type: its own issue is already reported
        }

        for (const f of [found ?? []].flat())
          ctx.addIssue({
            code: 'custom',
            message: f.message,
            params: f.warning ? {warning: true} : {},
            path: k.path.split('.'),
          })
      }
    },
    {when: () => true},
  ) as unknown as z.ZodType<DrcConfig>
  return built
}
