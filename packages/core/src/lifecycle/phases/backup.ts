import type {Phase, RunState} from '../run-state.js'

/**
 * Backup (--backup): every revision expected to go is backed up to S3 and verified (invariant 4); with --apply
 * one that fails is not deleted, without it (backup-only) nothing is deleted at all. In-use revisions are not
 * backed up: they stay. index.json is written once per batch of images (src/backup/batch.ts); an image counts as
 * backed up only once verified, its index entry included, so none is deleted before it is listed. Fires drc:backup.
 */
export const backupPhase: Phase = {
  cancellation: 'race',
  enabled: (st) => st.opts.backup && st.plan.items.length > 0,
  name: 'backup',
  async run(st: RunState, task) {
    const [{openBackupSession}, {backupItems}] = await Promise.all([
      import('../../backup/session.js'),
      import('../../backup/batch.js'),
    ])
    const {backups} = st
    const session = await openBackupSession(st.opts.config)
    try {
      const done = await backupItems(st.plan.items, session.registry, session.store, {
        onItem(item, problem) {
          task.output = `${problem ? '✗' : '✓'} ${item.repository}:${item.tags.join(',')}${problem ? ` ${problem}` : ''}`
        },
        signal: st.cancel.signal,
      })
      for (const [k, v] of done.failed) backups.failed.set(k, v)
      for (const k of done.verified) backups.verified.add(k)
    } finally {
      await session.close()
    }

    task.title = `Backup: ${backups.verified.size} verified, ${backups.failed.size} failed`
    await st.hook('drc:backup', {
      failed: [...backups.failed].map(([key, reason]) => ({key, reason})),
      strategy: st.opts.strategy,
      verified: [...backups.verified],
    })
  },
  title: 'Backing up to S3',
}
