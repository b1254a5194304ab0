/** Human sizes in binary units, e.g. `1.5GiB` (the predecessor's format). */
export function humanBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let v = bytes
  let i = 0
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }

  return i === 0 ? `${v}B` : `${Number(v.toFixed(v < 10 ? 2 : 1))}${units[i]}`
}

/** A table cell holding bytes, shown in binary units (raw bytes stay in --json and --csv). */
export function bytesCell(value: unknown): string {
  return typeof value === 'number' ? humanBytes(value) : String(value ?? '')
}

/** bytes / 1024³ rounded to 2 decimals (the `*_gb` fields of the predecessor's reports). */
export function gib(bytes: number): number {
  return Math.round((bytes / 1024 ** 3) * 100) / 100
}

export interface Column<T> {
  align?: 'left' | 'right'
  header: string
  value: (row: T) => number | string
}

/** An aligned plain-text table (no colours, so it pipes cleanly). */
export function table<T>(rows: readonly T[], columns: Array<Column<T>>): string {
  const cells = rows.map((r) => columns.map((c) => String(c.value(r))))
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i].length)))
  const line = (vals: string[]): string =>
    vals
      .map((v, i) => (columns[i].align === 'right' ? v.padStart(widths[i]) : v.padEnd(widths[i])))
      .join('  ')
      .trimEnd()
  return [
    line(columns.map((c) => c.header)),
    line(widths.map((w) => '-'.repeat(w))),
    ...cells.map((row) => line(row)),
  ].join('\n')
}
