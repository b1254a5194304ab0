import type {Phase, RunState} from '../run-state.js'
import type {DeletionPlan} from '../types.js'

import {UsageError} from '../../lib/errors.js'
import {humanBytes} from '../../reports/format.js'
import {budgetRefusals} from '../budget.js'
import {usageRules} from '../run-state.js'

/** One line: what is expected to go, what is kept, what the deletes would free. */
export function planSummary(plan: DeletionPlan): string {
  const tags = plan.items.reduce((n, i) => n + i.tags.length, 0)
  const inUse = plan.inUse.length > 0 ? `, ${plan.inUse.length} in use now (kept)` : ''
  return `${plan.items.length} manifests (${tags} tags) to delete${inUse}, ${plan.skipped.length} candidates kept, predicted freed ${humanBytes(plan.predictedFreedBytes)}`
}

/**
 * --max-delete / security.max_delete and the empty-repository guard: an --apply run is refused (exit 2) before
 * anything changed; a dry run shows the plan and says --apply would be refused.
 */
function enforceBudgets(st: RunState): void {
  const {allowEmptyRepository, config, maxDelete} = st.opts
  if (config.security.max_delete < 0 || (maxDelete !== undefined && maxDelete < 0))
    throw new UsageError('the deletion budget (--max-delete, security.max_delete) must be 0 or more')
  const refusals = budgetRefusals(st.plan, st.graph, {
    allowEmptyRepository: Boolean(allowEmptyRepository),
    maxDelete: maxDelete ?? config.security.max_delete,
    maxDeleteSource: maxDelete === undefined ? 'security.max_delete' : '--max-delete',
  })
  if (refusals.length === 0) return
  if (!st.opts.apply) {
    for (const r of refusals) st.warnings.push(`--apply would be refused: ${r}`)
    return
  }

  throw new UsageError(`refused before anything changed: ${refusals.join('; ')}`, [
    'narrow the plan, or raise the budget with --max-delete N (security.max_delete) after reading the dry run',
    'add --allow-empty-repository only if emptying that repository is intended',
  ])
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
    const proposed = await st.opts.plan({config, db: st.db!, log: st.opts.log})
    st.candidates = proposed
    // Protect rules always win: a protected candidate never reaches the plan (its digest stays, and the plan says why).
    const {applyProtectRules} = await import('../protect.js')
    const {candidates, kept: protectedKept} = await applyProtectRules(proposed, config, st.db!)
    task.title = `Planning: ${candidates.length} candidate tags; scanning the registry`
    const [{obtainAnalysisGraph}, {buildUsageGraph}, {cloneProtection}, {planWithUsage}] = await Promise.all([
      import('../../reports/analysis-graph.js'),
      import('../../usage/build.js'),
      import('../../usage/clone-chain.js'),
      import('../plan-usage.js'),
    ])
    const {analysis, graph} = await obtainAnalysisGraph(config, {generate: true, maxAgeHours: 0, quiet: true})
    st.analysisPath = analysis.path
    st.graph = graph
    const rules = usageRules(st)
    const usage = await buildUsageGraph(st.db!, {
      now: rules.now,
      // Documents read per collection, on a terminal only (the fallback renderer prints every output line).
      onDocument(collection, count) {
        if (process.stderr.isTTY && count % 1000 === 0) task.output = `MongoDB: ${collection}: ${count} documents`
      },
    })
    const plan = planWithUsage(graph, candidates, {cloneProtection, rules, usage})
    st.plan = {...plan, skipped: [...protectedKept, ...plan.skipped]}
    task.title = `Plan: ${planSummary(st.plan)}`
    await st.hook('drc:plan', {plan: st.plan, strategy: st.opts.strategy})
    enforceBudgets(st)
    const {resolveJournal} = await import('../resume.js')
    await resolveJournal(st)
  },
  title: 'Planning',
}
