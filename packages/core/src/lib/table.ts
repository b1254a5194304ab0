import {Flags} from '@oclif/core'

import {UsageError} from './errors.js'

export type Cell = boolean | null | number | readonly string[] | string

/**
 * One column of a command's table. `key` is the name of the field in the command's --json rows, so `--columns`,
 * `--sort` and the `--csv` header use the names scripts already know; `value` is the raw data (sorted and written
 * to CSV as is), `format` how a person reads it (e.g. bytes as 1.5GiB).
 */
export interface TableColumn<R> {
  align?: 'left' | 'right'
  format?: (value: Cell, row: R) => string
  header: string
  key: string
  value: (row: R) => Cell
}

/** The column names a table accepts, for the command's description. */
export function columnNames(columns: ReadonlyArray<TableColumn<never>>): string {
  return columns.map((c) => c.key).join(', ')
}

/** The flags every command that prints a table shares (spread them into its `flags`). */
export const tableFlags = {
  columns: Flags.string({
    delimiter: ',',
    description: 'Only these columns, in this order (comma-separated column names; see the command description).',
    helpGroup: 'TABLE',
    multiple: true,
  }),
  csv: Flags.boolean({
    description: 'Print the table as CSV (raw values, header = column names) instead of aligned text.',
    exclusive: ['json'],
    helpGroup: 'TABLE',
  }),
  limit: Flags.integer({
    description: 'Print at most this many rows, after --sort (0: all).',
    helpGroup: 'TABLE',
    min: 0,
  }),
  sort: Flags.string({
    description: 'Sort rows by these columns (comma-separated; prefix a column with - for descending: --sort=-size).',
    helpGroup: 'TABLE',
  }),
}

export interface TableFlagValues {
  columns?: string[]
  csv?: boolean
  limit?: number
  sort?: string
}

interface SortKey<R> {
  column: TableColumn<R>
  descending: boolean
}

function unknownColumn(name: string, flag: string, columns: ReadonlyArray<TableColumn<unknown>>): UsageError {
  const valid = columns.map((c) => c.key).join(', ')
  return new UsageError(`unknown column '${name}' in --${flag}; valid columns: ${valid}`, [`use one of: ${valid}`])
}

function byKey<R>(columns: ReadonlyArray<TableColumn<R>>, name: string, flag: string): TableColumn<R> {
  const found = columns.find((c) => c.key === name)
  if (!found) throw unknownColumn(name, flag, columns as ReadonlyArray<TableColumn<unknown>>)
  return found
}

/** Resolves --columns and --sort against the columns a table has; an unknown name is a usage error (exit 2). */
export function resolveTableFlags<R>(
  columns: ReadonlyArray<TableColumn<R>>,
  flags: TableFlagValues,
): {selected: Array<TableColumn<R>>; sort: Array<SortKey<R>>} {
  const names = (flags.columns ?? []).map((c) => c.trim()).filter(Boolean)
  const selected = names.length > 0 ? names.map((n) => byKey(columns, n, 'columns')) : [...columns]
  const sort = (flags.sort ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const descending = s.startsWith('-')
      return {column: byKey(columns, descending ? s.slice(1) : s, 'sort'), descending}
    })
  return {selected, sort}
}

function compareCells(a: Cell, b: Cell): number {
  if (a === b) return 0
  if (a === null) return 1
  if (b === null) return -1
  if (typeof a === 'number' && typeof b === 'number') return a - b
  return String(a).localeCompare(String(b), 'en', {numeric: true})
}

export function sortRows<R>(rows: readonly R[], keys: Array<SortKey<R>>): R[] {
  if (keys.length === 0) return [...rows]
  return [...rows].sort((x, y) => {
    for (const k of keys) {
      const c = compareCells(k.column.value(x), k.column.value(y))
      if (c !== 0) return k.descending ? -c : c
    }

    return 0
  })
}

function rawText(v: Cell): string {
  if (v === null) return ''
  if (Array.isArray(v)) return v.join(',')
  return String(v)
}

function csvField(text: string): string {
  return /[",\n\r]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** RFC 4180 CSV: header line of column keys, one line per row, raw values (arrays joined with commas). */
export function toCsv<R>(rows: readonly R[], columns: ReadonlyArray<TableColumn<R>>): string {
  const lines = [columns.map((c) => csvField(c.key)).join(',')]
  for (const r of rows) lines.push(columns.map((c) => csvField(rawText(c.value(r)))).join(','))
  return lines.join('\n')
}

/**
 * Renders rows through @oclif/table: wrapped to the terminal width on a terminal, at natural width (one line per
 * row, nothing cut) in a pipe so grep and awk see whole rows.
 */
export async function renderText<R>(rows: readonly R[], columns: ReadonlyArray<TableColumn<R>>): Promise<string> {
  // ink and React are heavy: loaded only when a table is printed, so `drc --help` stays fast.
  const {makeTable} = await import('@oclif/table')
  const data = rows.map((r) =>
    Object.fromEntries(columns.map((c) => [c.key, c.format ? c.format(c.value(r), r) : rawText(c.value(r))])),
  )
  const tty = Boolean(process.stdout.isTTY)
  return makeTable({
    borderStyle: 'headers-only-with-underline',
    columns: columns.map((c) => ({horizontalAlignment: c.align ?? 'left', key: c.key, name: c.header})),
    data,
    headerOptions: {bold: tty, formatter: (h: string) => h},
    maxWidth: tty ? undefined : 'none',
    noStyle: !tty,
    overflow: 'wrap',
  })
    .replace(/^\n+/, '')
    .trimEnd()
}

/** Sorts, limits and renders a table (text or CSV) as the shared table flags ask. */
export async function formatTable<R>(
  rows: readonly R[],
  columns: ReadonlyArray<TableColumn<R>>,
  flags: TableFlagValues,
): Promise<string> {
  const {selected, sort} = resolveTableFlags(columns, flags)
  const sorted = sortRows(rows, sort)
  const shown = flags.limit === undefined || flags.limit === 0 ? sorted : sorted.slice(0, flags.limit)
  return flags.csv ? toCsv(shown, selected) : renderText(shown, selected)
}
