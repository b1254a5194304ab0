import type {HealthResult} from './types.js'

const MARK: Record<HealthResult['status'], string> = {healthy: '✓', skipped: '-', unhealthy: '✗'}

/** The human table: one row per check (name, status, message), hints under failed rows. */
export function formatHealthTable(results: readonly HealthResult[]): string[] {
  const nameWidth = Math.max(5, ...results.map((r) => r.name.length))
  const lines = [`${'CHECK'.padEnd(nameWidth)}  ${'STATUS'.padEnd(11)}  MESSAGE`]
  for (const r of results) {
    const status = `${MARK[r.status]} ${r.status}`
    lines.push(`${r.name.padEnd(nameWidth)}  ${status.padEnd(11)}  ${r.message}`)
    if (r.status === 'unhealthy') for (const s of r.suggestions) lines.push(`${' '.repeat(nameWidth + 15)}→ ${s}`)
  }

  return lines
}
