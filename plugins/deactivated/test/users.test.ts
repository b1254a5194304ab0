import {expect} from 'chai'

import type {DeactivatedUsersResult} from '../src/commands/deactivated/users.js'

import {factsOf, generateDataset, seedMongo} from '../../../test/fixtures/index.js'
import {resultOf} from '../../../test/lifecycle/world.js'
import {runCli} from '../../../test/support/cli.js'
import {keycloakService, services} from '../../../test/support/harness.js'
import {seedKeycloak} from '../../../test/support/keycloak.js'
import {linkedPluginsEnv} from '../../../test/support/plugin-cli.js'

describe('@drc/plugin-deactivated: drc deactivated users (Keycloak + FerretDB)', function () {
  this.timeout(400_000)
  const db = 'plugin_deactivated_users'
  const dataset = generateDataset({
    environments: 10,
    models: 2,
    now: new Date(),
    revisionsPerEnvironment: 2,
    runs: 10,
    seed: 21,
    users: 3,
    versionsPerModel: 1,
  })
  const facts = factsOf(dataset)
  // A realm per run: a reused Keycloak keeps the users (and their ids) of earlier runs.
  const realm = `DrcPluginDeactivated${Date.now().toString(36)}`
  let env: Record<string, string>

  before(async () => {
    const kc = await keycloakService()
    await seedKeycloak(
      kc,
      facts.keycloakUsers.map((u) => ({dominoUserId: u.id, enabled: u.enabled, username: `pd-${u.login}`})),
      realm,
    )
    await seedMongo(services().mongo.uri, db, dataset)
    env = {
      ...linkedPluginsEnv('deactivated'),
      DRC_MONGO_URI: services().mongo.uri,
      KEYCLOAK_PASSWORD: kc.adminPassword,
      KEYCLOAK_REALM: realm,
      KEYCLOAK_URL: kc.url,
      KEYCLOAK_USERNAME: kc.adminUser,
      MONGODB_DB: db,
    }
  })

  it('finds the disabled user by its domino-user-id and the private environments it owns', () => {
    const r = runCli(['deactivated', 'users', '--json'], {env})
    expect(r.code, r.stderr).to.equal(0)
    const out = resultOf<DeactivatedUsersResult>(r.stdout)
    expect(out.users.map((u) => u.dominoUserId)).to.deep.equal([facts.disabledUser.id])
    expect(out.users[0].privateEnvironments.map((e) => e.id).sort()).to.deep.equal(
      [...facts.privateEnvironmentsOfDisabledUser].sort(),
    )
  })

  it('refuses without Keycloak configured, saying what to set', () => {
    const r = runCli(['deactivated', 'users'], {env: {...env, KEYCLOAK_URL: ''}})
    expect(r.code).to.equal(1)
    expect(r.stderr).to.contain('Keycloak is not configured')
    expect(r.stderr).to.contain('KEYCLOAK_URL')
  })

  it('names Keycloak and exits 1 on a wrong admin password', () => {
    const r = runCli(['deactivated', 'users'], {env: {...env, KEYCLOAK_PASSWORD: 'wrong'}})
    expect(r.code).to.equal(1)
    expect(r.stderr).to.match(/cannot log in to Keycloak/)
  })
})
