import {createHash} from 'node:crypto'
import {readdir, readFile, unlink} from 'node:fs/promises'
import path from 'node:path'

import type {DrcConfig} from '../config/types.js'
import type {ItemStatus, PlanItem} from './types.js'

import {writeJsonAtomic} from './atomic-json.js'
import {itemKey} from './types.js'

/** 'deleting': the DELETE is about to be sent (a crash right after it leaves this). */
export type JournalStatus = 'deleting' | ItemStatus

/** The deletion journal (invariant 9): the plan's items and each one's outcome, rewritten after every item. */
export interface Journal {
  items: Array<{key: string; parents: string[]; tags: string[]}>
  outcomes: Record<string, {reason?: string; status: JournalStatus}>
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

export const journalDir = (config: DrcConfig) => path.resolve(config.analysis.output_dir, 'checkpoints')
export const journalPath = (config: DrcConfig, id: string) => path.join(journalDir(config), `${id}.json`)

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

export async function saveJournal(file: string, journal: Journal): Promise<void> {
  journal.updated_at = new Date().toISOString()
  await writeJsonAtomic(file, journal)
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
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const file = path.join(dir, name)
    try {
      // eslint-disable-next-line no-await-in-loop -- a handful of files
      const journal = JSON.parse(await readFile(file, 'utf8')) as Journal
      if (journal.schema === 'drc-deletion-journal' && journal.strategy === strategy) out.push({file, journal})
    } catch (error) {
      warn(`journal ${file} is unreadable and was ignored: ${String(error)}`)
    }
  }

  return out
}
