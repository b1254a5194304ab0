import {createHash} from 'node:crypto'
import {open, readdir, readFile, unlink} from 'node:fs/promises'
import path from 'node:path'

import type {DrcConfig} from '../config/types.js'
import type {ItemStatus, PlanItem} from './types.js'

import {writeFileAtomic} from './atomic-json.js'
import {itemKey} from './types.js'

/** 'deleting': the DELETE is about to be sent (a crash right after it leaves this). */
export type JournalStatus = 'deleting' | ItemStatus

export type JournalOutcome = {reason?: string; status: JournalStatus}

/** The deletion journal (invariant 9): the plan's items and each one's outcome (the latest line of each key wins). */
export interface Journal {
  items: Array<{key: string; parents: string[]; tags: string[]}>
  outcomes: Record<string, JournalOutcome>
  plan_id: string
  schema: 'drc-deletion-journal'
  started_at: string
  strategy: string
  updated_at: string
}

const line = (i: {digest: string; repository: string; tags: string[]}) =>
  `${itemKey(i)} ${[...i.tags].sort().join(',')}`

/** The plan id: a hash of the planned items (repository@digest and tags), independent of their order. */
export function planId(items: readonly PlanItem[]): string {
  const text = items
    .map((i) => line(i))
    .sort()
    .join('\n')
  return createHash('sha256').update(text).digest('hex').slice(0, 20)
}

/**
 * On disk a journal is JSON lines: the header (the journal without its outcomes), then one line per outcome,
 * appended as each item progresses, so recording an item costs one small write however large the plan is.
 */
export const JOURNAL_EXT = '.jsonl'
export const journalDir = (config: DrcConfig) => path.resolve(config.analysis.output_dir, 'checkpoints')
export const journalPath = (config: DrcConfig, id: string) => path.join(journalDir(config), `${id}${JOURNAL_EXT}`)

export function newJournal(id: string, items: readonly PlanItem[], strategy: string): Journal {
  const now = new Date().toISOString()
  return {
    items: items.map((i) => ({key: itemKey(i), parents: i.parents, tags: i.tags})),
    outcomes: {},
    plan_id: id,
    schema: 'drc-deletion-journal',
    started_at: now,
    strategy,
    updated_at: now,
  }
}

export const outcomeLine = (key: string, o: JournalOutcome) =>
  `${JSON.stringify(o.reason ? {key, reason: o.reason, status: o.status} : {key, status: o.status})}\n`

/** Rewrites the journal compacted (header + one line per outcome), atomically: at the start of a run. */
export async function saveJournal(file: string, journal: Journal): Promise<void> {
  journal.updated_at = new Date().toISOString()
  const {outcomes, ...header} = journal
  const lines = Object.entries(outcomes).map(([key, o]) => outcomeLine(key, o))
  await writeFileAtomic(file, `${JSON.stringify(header)}\n${lines.join('')}`)
}

/**
 * Parses a journal file. A last line cut short (a crash in the middle of an append) is ignored: its item's
 * previous line stands ('deleting' is written and awaited before every DELETE). Any other bad line throws.
 */
export function parseJournal(text: string): Journal {
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  const header = JSON.parse(lines[0] ?? '') as Omit<Journal, 'outcomes'>
  const outcomes: Record<string, JournalOutcome> = {}
  for (const [n, text_] of lines.slice(1).entries()) {
    let o: JournalOutcome & {key: string}
    try {
      o = JSON.parse(text_) as JournalOutcome & {key: string}
    } catch (error) {
      if (n === lines.length - 2) break
      throw error
    }

    outcomes[o.key] = o.reason ? {reason: o.reason, status: o.status} : {status: o.status}
  }

  return {...header, outcomes}
}

/**
 * Appends outcome lines to a journal, one write at a time, in order; lines recorded while a write is under way go
 * out together in the next one. `record` resolves once its line is written (the OS has it: a killed drc loses
 * nothing; not fsync-ed, like every other file drc writes).
 */
export async function openJournalAppender(file: string) {
  const handle = await open(file, 'a')
  let buffered: string[] = []
  let queue: Promise<void> = Promise.resolve()
  let pending: null | Promise<void> = null
  const write = () => {
    if (pending) return pending
    const next = queue.then(async () => {
      pending = null
      const text = buffered.join('')
      buffered = []
      await handle.write(text)
    })
    pending = next
    queue = next
    return next
  }

  return {
    async close() {
      await queue.catch(() => {})
      await handle.close()
    },
    flush: () => queue,
    record(key: string, outcome: JournalOutcome): Promise<void> {
      buffered.push(outcomeLine(key, outcome))
      return write()
    },
  }
}

export async function removeJournal(file: string): Promise<void> {
  await unlink(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error
  })
}

/** The journals of `strategy` under checkpoints/ (an unreadable file is reported through `warn` and skipped). */
export async function listJournals(
  config: DrcConfig,
  strategy: string,
  warn: (w: string) => void,
): Promise<Array<{file: string; journal: Journal}>> {
  const dir = journalDir(config)
  const names = await readdir(dir).catch(() => [] as string[])
  const out: Array<{file: string; journal: Journal}> = []
  for (const name of names.filter((n) => n.endsWith(JOURNAL_EXT)).sort()) {
    const file = path.join(dir, name)
    try {
      // eslint-disable-next-line no-await-in-loop -- a handful of files
      const journal = parseJournal(await readFile(file, 'utf8'))
      if (journal.schema === 'drc-deletion-journal' && journal.strategy === strategy) out.push({file, journal})
    } catch (error) {
      warn(`journal ${file} is unreadable and was ignored: ${String(error)}`)
    }
  }

  return out
}
