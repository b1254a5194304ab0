/**
 * Timestamps as they appear in Domino's MongoDB and in older usage reports, normalised to UTC.
 *
 * The predecessor compared naive datetimes with aware ones and crashed, and treated raw BSON dates as
 * "no timestamp" (domain-spec §6.1 #3). Here every accepted form becomes a `Date` (always UTC inside).
 */

// An ISO-8601 date-time without zone designator: Mongo stores UTC, so a naive value is read as UTC.
const NAIVE_ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$/
const ZONED_ISO = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/i

function validDate(d: Date): Date | null {
  return Number.isNaN(d.getTime()) ? null : d
}

function parseString(raw: string): Date | null {
  const s = raw.trim()
  if (s === '') return null
  if (NAIVE_ISO.test(s)) {
    const withTime = s.length === 10 ? `${s}T00:00:00` : s.replace(' ', 'T')
    return validDate(new Date(`${withTime}Z`))
  }

  if (ZONED_ISO.test(s)) {
    // `+0200` is valid ISO-8601 but not accepted by Date.parse everywhere; insert the colon.
    const normalised = s.replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2')
    return validDate(new Date(normalised))
  }

  return null
}

/**
 * Parses a timestamp: BSON date (`Date`), ISO string with `Z`, with an offset or naive (read as UTC),
 * extended JSON `{"$date": …}` (string, epoch ms or `{"$numberLong": …}`), or epoch milliseconds.
 * Anything else (empty, null, garbage) gives `null`, which callers must treat as "age unknown".
 */
export function parseTimestamp(value: unknown): Date | null {
  if (value === null || value === undefined) return null
  if (value instanceof Date) return validDate(value)
  if (typeof value === 'number') return Number.isFinite(value) ? validDate(new Date(value)) : null
  if (typeof value === 'bigint') return validDate(new Date(Number(value)))
  if (typeof value === 'string') return parseString(value)
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>
    if ('$date' in obj) return parseTimestamp(obj.$date)
    if ('$numberLong' in obj && typeof obj.$numberLong === 'string') return parseTimestamp(Number(obj.$numberLong))
    // bson Long / Int64 wrappers expose toNumber().
    if (typeof (obj as {toNumber?: unknown}).toNumber === 'function') {
      return parseTimestamp((obj as {toNumber: () => number}).toNumber())
    }
  }

  return null
}

/** The latest of the given timestamps, ignoring unparseable ones; null when none parses. */
export function latestTimestamp(values: unknown[]): Date | null {
  let best: Date | null = null
  for (const v of values) {
    const d = parseTimestamp(v)
    if (d && (!best || d > best)) best = d
  }

  return best
}

export const DAY_MS = 86_400_000
