/** Prometheus text format through a real parser (parse-prometheus-text-format, prom2json-shaped output). */
import {createRequire} from 'node:module'

interface Family {
  help: string
  metrics: Array<{labels?: Record<string, string>; value: string}>
  name: string
  type: string
}

const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[]

/** The value of metric `name` whose labels include `labels` (undefined when absent; throws when ambiguous). */
export type Lookup = (name: string, labels?: Record<string, string>) => number | undefined

export function parseMetrics(text: string): {families: Family[]; value: Lookup} {
  const families = parse(text)
  const value: Lookup = (name, labels = {}) => {
    const family = families.find((f) => f.name === name)
    const hits = (family?.metrics ?? []).filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
    if (hits.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${hits.length} samples`)
    return hits.length === 1 ? Number(hits[0].value) : undefined
  }

  return {families, value}
}
