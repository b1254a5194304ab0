import type {ConfigIssue, DrcConfig} from './types.js'

import {KEYS} from './keys.js'
import {configSchema} from './schema.js'

export {isValidKubernetesName, isValidRegistryUrl, isValidRepository, isValidS3Bucket, stripScheme} from './rules.js'

const ORDER = new Map(KEYS.map((k, i) => [k.path, i]))

/**
 * Validates the effective configuration against the one schema (src/config/schema.ts, built from the key table).
 * Each problem names its key and the rule it breaks; all problems are reported together, in key table order.
 */
export function validateConfig(c: DrcConfig): {errors: ConfigIssue[]; warnings: ConfigIssue[]} {
  const result = configSchema().safeParse(c)
  const errors: ConfigIssue[] = []
  const warnings: ConfigIssue[] = []
  const seen = new Set<string>()
  for (const issue of result.success ? [] : result.error.issues) {
    // A list item's issue (registry.scan_repositories.2) is reported on its key.
    const path = issue.path.slice(0, 2).join('.')
    const warning = (issue as {params?: {warning?: boolean}}).params?.warning === true
    const id = `${warning}\0${path}\0${issue.message}`
    if (seen.has(id)) continue // one value breaking two checks of one rule (0.5 for a port: int and min)
    seen.add(id)
    ;(warning ? warnings : errors).push({message: issue.message, path})
  }

  const byKey = (a: ConfigIssue, b: ConfigIssue) => (ORDER.get(a.path) ?? 1e9) - (ORDER.get(b.path) ?? 1e9)
  return {errors: errors.sort(byKey), warnings: warnings.sort(byKey)}
}
