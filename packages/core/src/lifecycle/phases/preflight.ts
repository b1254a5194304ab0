import type {HealthCheckName, HealthResult} from '../../health/types.js'
import type {Phase, RunState} from '../run-state.js'

import {DrcError, UsageError} from '../../lib/errors.js'
import {ExitCode} from '../../lib/exit-codes.js'

/**
 * Preflight (--apply only): the health of everything the plan touches, then drc:preflight, whose handlers may
 * veto (exit 3, nothing changed). Also decides whether the registry is in the cluster (it needs unlocking).
 */
export const preflightPhase: Phase = {
  cancellation: 'race',
  enabled: (st) => st.opts.apply,
  name: 'preflight',
  async run(st: RunState, task) {
    const {config} = st.opts
    if (st.opts.backup && !config.s3.bucket)
      throw new UsageError('--backup needs an S3 bucket, and none is configured', [
        'set s3.bucket (or S3_BUCKET), and s3.endpoint for an S3-compatible store',
      ])
    const [{createKubeClients}, {detectRegistryLocation}, {failedRequired, runHealthChecks}] = await Promise.all([
      import('../../kube/client.js'),
      import('../../kube/registry-location.js'),
      import('../../health/run.js'),
    ])
    const location = await detectRegistryLocation(config, () => createKubeClients(config))
    st.opts.log(`registry ${location.inCluster ? 'in the cluster' : 'external'}: ${location.reason}`)
    const only: HealthCheckName[] = ['registry', 'mongodb']
    if (st.opts.backup) only.push('s3')
    if (location.inCluster) only.push('kubernetes', 'registry_rbac')
    const checks: HealthResult[] = await runHealthChecks(st.opts.loaded, {only})
    const bad = failedRequired(checks)
    if (bad.length > 0)
      throw new DrcError(`preflight refused: ${bad.map((c) => `${c.name}: ${c.message}`).join('; ')}`, {
        exitCode: ExitCode.PREFLIGHT_REFUSED,
        suggestions: [...bad.flatMap((c) => c.suggestions), 'nothing was changed; `drc health` shows every check'],
      })
    const vetoes = await st.hook('drc:preflight', {checks, plan: st.plan, strategy: st.opts.strategy})
    if (vetoes.length > 0)
      throw new DrcError(`preflight vetoed by a plugin hook: ${vetoes.join('; ')}`, {
        exitCode: ExitCode.PREFLIGHT_REFUSED,
        suggestions: ['nothing was changed; see the plugin that registered the drc:preflight hook'],
      })
    st.inCluster = location.inCluster
    task.title = 'Preflight: healthy'
  },
  title: 'Preflight',
}
