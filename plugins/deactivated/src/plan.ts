import {type Candidate, connectKeycloak, DrcError, lazySecretReader, type PlanContext} from '@drc/core'

import {planPrivateEnvironments} from './private-environments.js'
import {listDeactivatedUsers} from './users.js'

/**
 * The deactivated strategy's plan, for any DeletionCommand: the candidates of the unused private environments of
 * users deactivated in Keycloak (kept environments are logged with why). `drc unused all` calls it through this
 * package's main module, so both strategies share one lifecycle.
 */
export async function planDeactivated(
  {config, db, log}: Pick<PlanContext, 'config' | 'db' | 'log'>,
  opts: {archive?: boolean; unusedSinceDays?: number},
): Promise<Candidate[]> {
  if (!config.keycloak.url)
    throw new DrcError('Keycloak is not configured: this strategy needs to know which users are deactivated', {
      suggestions: [
        'set keycloak.url (KEYCLOAK_URL) and the admin credentials (KEYCLOAK_USERNAME / KEYCLOAK_PASSWORD)',
      ],
    })
  const keycloak = await connectKeycloak(config, {readSecret: lazySecretReader(config)})
  const users = await listDeactivatedUsers(keycloak, db)
  const unnamed = users.filter((u) => !u.dominoUserId).length
  if (unnamed > 0) log(`${unnamed} deactivated users have no domino-user-id attribute: ignored`)
  const {candidates, kept} = await planPrivateEnvironments(db, users, {
    archive: opts.archive,
    defaultRepository: `${config.registry.repository}/environment`,
    rules: {gracePeriodDays: config.usage.grace_period_days, now: new Date(), unusedSinceDays: opts.unusedSinceDays},
  })
  for (const k of kept)
    log(`kept private environment ${k.environmentId} "${k.name}" of ${k.owner}: ${k.reasons.join('; ')}`)
  return candidates
}
