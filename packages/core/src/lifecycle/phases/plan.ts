import type {Phase, RunState} from '../run-state.js'
import type {DeletionPlan} from '../types.js'

import {humanBytes} from '../../reports/format.js'
import {usageRules} from '../run-state.js'

/** One line: what is expected to go, what is kept, what the deletes would free. */
export function planSummary(plan: DeletionPlan): string {
  const tags = plan.items.reduce((n, i) => n + i.tags.length, 0)
  const inUse = plan.inUse.length > 0 ? `, ${plan.inUse.length} in use now (kept)` : ''
  return `${plan.items.length} manifests (${tags} tags) to delete${inUse}, ${plan.skipped.length} candidates kept, predicted freed ${humanBytes(plan.predictedFreedBytes)}`
}

/**
 * Plan: the strategy's candidates, a fresh registry scan (never a stale report), the digest-level plan, and the
 * core usage rules over one full usage graph (in use now, build chain), so that every later phase sees only
 * what is expected to go. Fires drc:plan.
 */
export const planPhase: Phase = {
  cancellation: 'race',
  name: 'plan',
  async run(st: RunState, task) {
    const {config} = st.opts
    const candidates = await st.opts.plan({config, db: st.db!, log: st.opts.log})
    task.title = `Planning: ${candidates.length} candidate tags; scanning the registry`
    const [{obtainAnalysisGraph}, {buildUsageGraph}, {cloneProtection}, {planWithUsage}] = await Promise.all([
      import('../../usage/join.js'),
      import('../../usage/build.js'),
      import('../../usage/clone-chain.js'),
      import('../plan-usage.js'),
    ])
    const {analysis, graph} = await obtainAnalysisGraph(config, {generate: true, maxAgeHours: 0, quiet: true})
    st.analysisPath = analysis.path
    st.graph = graph
    const rules = usageRules(st)
    const usage = await buildUsageGraph(st.db!, {now: rules.now})
    st.plan = planWithUsage(graph, candidates, {cloneProtection, rules, usage})
    task.title = `Plan: ${planSummary(st.plan)}`
    await st.hook('drc:plan', {plan: st.plan, strategy: st.opts.strategy})
  },
  title: 'Planning',
}
