import type {Phase, RunState} from '../run-state.js'

import {DrcError} from '../../lib/errors.js'
import {ExitCode} from '../../lib/exit-codes.js'
import {planSummary} from './plan.js'

/**
 * Confirm (--apply without --force): lists what goes and, apart, what stays (in use now, kept by the plan),
 * then asks about the deletable items only. A "no" ends the run with 130, nothing deleted. Fires drc:confirm.
 */
export const confirmPhase: Phase = {
  cancellation: 'race',
  enabled: (st) => st.opts.apply,
  interactive: true,
  name: 'confirm',
  async run(st: RunState) {
    const {confirm, log} = st.opts
    const {plan} = st
    let confirmed: boolean | null = null
    if (confirm && plan.items.length > 0) {
      // The operator sees what they are agreeing to, not only the totals.
      for (const i of plan.items) log(`  delete ${i.repository}@${i.digest} ${i.tags.join(', ')}`)
      for (const i of plan.inUse)
        log(`  keep   ${i.repository}@${i.digest} ${i.tags.join(', ')}: in use now: ${i.inUseAtPlan}`)
      for (const k of plan.skipped) log(`  keep   ${k.repository}:${k.tag ?? k.digest}: ${k.reason}`)
      confirmed = await confirm(`Delete ${planSummary(plan)} from ${st.opts.config.registry.url}?`)
    }

    await st.hook('drc:confirm', {confirmed, plan, strategy: st.opts.strategy})
    if (confirmed === false) {
      st.declined = true
      throw new DrcError('cancelled: nothing was deleted', {exitCode: ExitCode.CANCELLED})
    }
  },
  title: 'Confirm',
}
