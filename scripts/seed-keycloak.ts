// Creates the Domino realm and the dataset's users (the disabled one included) in the sandbox Keycloak.
// Usage: node --import tsx scripts/seed-keycloak.ts <services.json> <facts.json>
import {readFileSync} from 'node:fs'

import {seedKeycloak} from '../test/support/keycloak.js'

const [servicesFile, factsFile] = process.argv.slice(2)
if (!servicesFile || !factsFile) {
  console.error('usage: seed-keycloak.ts <services.json> <facts.json>')
  process.exit(2)
}

const services = JSON.parse(readFileSync(servicesFile, 'utf8')) as {
  keycloak?: {adminPassword: string; adminUser: string; realm?: string; url: string}
}
const facts = JSON.parse(readFileSync(factsFile, 'utf8')) as {
  keycloakUsers: Array<{enabled: boolean; id: string; login: string}>
}
if (services.keycloak) {
  await seedKeycloak(
    services.keycloak,
    facts.keycloakUsers.map((u) => ({dominoUserId: u.id, enabled: u.enabled, username: u.login})),
    services.keycloak.realm,
  )
  console.log(
    `seeded ${facts.keycloakUsers.length} Keycloak users (${facts.keycloakUsers.filter((u) => !u.enabled).length} disabled)`,
  )
} else console.log('Keycloak is not running in the sandbox: skipped')
