/**
 * Seeds a running MongoDB (and optionally a registry) with the fixture dataset.
 *
 *   node --import tsx scripts/seed.ts --mongo-uri mongodb://127.0.0.1:27017/ [--db domino] [--registry-url http://127.0.0.1:5000]
 *        [--environments 40] [--revisions 3] [--models 8] [--versions 2] [--runs 400] [--users 5] [--seed 42] [--now ISO]
 *        [--facts FILE]
 */
import {writeFileSync} from 'node:fs'
import {parseArgs} from 'node:util'

import {generateDataset, seedFixtures} from '../test/fixtures/index.js'

const {values} = parseArgs({
  options: {
    db: {default: 'domino', type: 'string'},
    environments: {default: '40', type: 'string'},
    facts: {type: 'string'},
    models: {default: '8', type: 'string'},
    'mongo-uri': {type: 'string'},
    now: {type: 'string'},
    'registry-url': {type: 'string'},
    revisions: {default: '3', type: 'string'},
    runs: {default: '400', type: 'string'},
    seed: {default: '42', type: 'string'},
    users: {default: '5', type: 'string'},
    versions: {default: '2', type: 'string'},
  },
})

function int(name: keyof typeof values): number {
  const n = Number(values[name])
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got '${values[name]}'`)
  return n
}

const mongoUri = values['mongo-uri'] ?? process.env.DRC_MONGO_URI
if (!mongoUri) {
  console.error('seed: give --mongo-uri (or DRC_MONGO_URI)')
  process.exit(2)
}

const now = values.now ? new Date(values.now) : new Date()
if (Number.isNaN(now.getTime())) throw new Error(`--now must be an ISO date, got '${values.now}'`)
const dataset = generateDataset({
  environments: int('environments'),
  models: int('models'),
  now,
  revisionsPerEnvironment: int('revisions'),
  runs: int('runs'),
  seed: int('seed'),
  users: int('users'),
  versionsPerModel: int('versions'),
})
const {imagesPushed} = await seedFixtures({dataset, db: values.db!, mongoUri, registryUrl: values['registry-url']})
if (values.facts) writeFileSync(values.facts, `${JSON.stringify(dataset.facts, null, 2)}\n`)
const counts = Object.entries(dataset.collections).map(([k, v]) => `${k}=${v.length}`)
console.log(`seeded database '${values.db}': ${counts.join(' ')}`)
console.log(
  imagesPushed
    ? `pushed ${dataset.images.length} images to ${values['registry-url']}`
    : 'no registry given: images not pushed',
)
