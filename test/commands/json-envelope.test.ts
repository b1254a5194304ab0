import {expect} from 'chai'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {ServiceSettings} from '../support/harness.js'

import {REQUIRED_COLLECTIONS} from '../../packages/core/src/health/checks/mongodb.js'
import {createDominoCollections, healthyEnv, testServices, uniqueRepo} from '../health/helpers.js'
import {type CliResult, REPO_ROOT, runCli} from '../support/cli.js'
import {linkedPluginsEnv} from '../support/plugin-cli.js'

const PLUGINS = ['archived', 'deactivated', 'references', 'unused']
const SUCCESS_KEYS = ['result', 'status', 'warnings']
const ERROR_KEYS = ['actions', 'exitCode', 'message', 'name', 'status', 'warnings']

interface Listed {
  args: Record<string, {required?: boolean}>
  id: string
  pluginName: string
  strict?: boolean
}

/** Positional arguments a command needs before it gets to its configuration. */
const ARGS: Record<string, string[]> = {
  'backup:create': ['acme/environment:e1-1'],
  'backup:restore': ['acme/environment:e1-1'],
  'backup:verify': ['acme/environment:e1-1'],
  'image:delete': ['environment:e1-1'],
  'mongo:cleanup': ['--file', 'placeholder', '--collection', 'environment_revisions'],
  'usage:find': ['68e64edfcaf3254005314c90'],
}

/** Commands for which an invalid configuration is a result (the JSON still describes it), not an error. */
const CONFIG_AS_RESULT: Record<string, {args: string[]; status: number}> = {
  'config:show': {args: [], status: 2},
  health: {args: ['--check', 'configuration'], status: 3},
}

/** Commands that read no configuration (config init writes one): an invalid file cannot concern them. */
const READS_NO_CONFIG = new Set(['config:init'])

const words = (id: string): string[] => id.split(':')

/**
 * The result keys docs/json-output.md lists per command: a `### ` heading naming one or more `drc <command>`,
 * then a line `Result keys: `a`, `b`` (keys a command only sometimes has are written `c?`).
 */
function documentedKeys(): Map<string, {optional: string[]; required: string[]}> {
  const doc = readFileSync(path.join(REPO_ROOT, 'docs/json-output.md'), 'utf8')
  const out = new Map<string, {optional: string[]; required: string[]}>()
  for (const m of doc.matchAll(/^### (.+)\n+Result keys: (.+)$/gm)) {
    const keys = [...m[2].matchAll(/`([^`]+)`/g)].map((k) => k[1])
    const entry = {
      optional: keys.filter((k) => k.endsWith('?')).map((k) => k.slice(0, -1)),
      required: keys.filter((k) => !k.endsWith('?')),
    }
    for (const c of m[1].matchAll(/`drc ([^`]+)`/g)) out.set(c[1].replaceAll(' ', ':'), entry)
  }

  return out
}

/** A command's required arguments: known sample values, else a placeholder (a new command is still covered). */
function argsOf(c: Listed): string[] {
  return ARGS[c.id] ?? Object.values(c.args ?? {}).flatMap((a) => (a.required ? ['placeholder'] : []))
}

function envelope(r: CliResult, what: string): Record<string, unknown> {
  let parsed: unknown
  try {
    parsed = JSON.parse(r.stdout)
  } catch {
    expect.fail(`${what}: stdout is not one JSON document (exit ${r.code}):\n${r.stdout.slice(0, 500)}\n${r.stderr}`)
  }

  expect(parsed, what).to.be.an('object')
  return parsed as Record<string, unknown>
}

function expectError(r: CliResult, what: string, exitCode: number, name?: string): Record<string, unknown> {
  const e = envelope(r, what)
  expect(Object.keys(e).sort(), what).to.deep.equal(ERROR_KEYS)
  expect(r.code, what).to.equal(exitCode)
  expect(e.status, what).to.equal(exitCode)
  expect(e.exitCode, what).to.equal(exitCode)
  expect(e.name, what).to.be.a('string').and.not.equal('')
  if (name) expect(e.name, what).to.equal(name)
  expect(e.message, what).to.be.a('string').and.not.equal('')
  expect(e.message as string, what).not.to.include('\u001B[') // no colour codes in the data
  expect(e.actions, what).to.be.an('array')
  for (const a of e.actions as unknown[]) expect(a, what).to.be.a('string')
  expect(e.warnings, what).to.be.an('array')
  return e
}

function expectSuccess(r: CliResult, what: string, status = 0): Record<string, unknown> {
  const e = envelope(r, what)
  expect(Object.keys(e).sort(), `${what}: ${r.stdout.slice(0, 300)}`).to.deep.equal(SUCCESS_KEYS)
  expect(r.code, `${what}: ${r.stderr}`).to.equal(status)
  expect(e.status, what).to.equal(status)
  expect(e.result, what).to.be.an('object')
  expect(e.warnings, what).to.be.an('array')
  return e
}

describe('--json: one envelope for every command of the core and of each plugin', function () {
  this.timeout(600_000)
  let env: Record<string, string>
  let commands: Listed[]
  let dir: string

  before(() => {
    env = linkedPluginsEnv(...PLUGINS)
    const example = runCli(['plugins', 'link', path.join(REPO_ROOT, 'examples/old-revisions'), '--no-install'], {env})
    expect(example.code, example.stderr).to.equal(0)
    const listed = runCli(['commands', '--json'], {env})
    expect(listed.code, listed.stderr).to.equal(0)
    // Every command of drc and of its plugins; oclif's own plugins (help, plugins, version...) are not ours.
    commands = (listed.json() as Listed[]).filter((c) => !c.pluginName.startsWith('@oclif/'))
    dir = mkdtempSync(path.join(tmpdir(), 'drc-envelope-'))
  })

  it('finds the core commands and the commands of every linked plugin', () => {
    const ids = commands.map((c) => c.id)
    for (const id of ['reports', 'health', 'config:show', 'report:image-size', 'usage:find', 'backup:create'])
      expect(ids).to.include(id)
    for (const p of PLUGINS)
      expect(
        ids.some((id) => id.startsWith(`${p}:`)),
        p,
      ).to.equal(true)
    expect(ids).to.include('tag-age:list')
  })

  it('an unknown flag is the error envelope, exit 2, naming the flag (every command)', () => {
    for (const c of commands) {
      const r = runCli([...words(c.id), ...argsOf(c), '--no-such-flag', '--json'], {cwd: dir, env})
      const e = expectError(r, c.id, 2, 'NonExistentFlagsError')
      expect(e.message, c.id).to.include('--no-such-flag')
      expect(r.stdout.length, `${c.id}: the envelope, not oclif's internals`).to.be.below(2000)
      expect((e.actions as string[]).join(' '), c.id).to.include('--help')
    }
  })

  it('a usage error (unexpected argument, bad image reference) is the error envelope, exit 2 (every command)', () => {
    for (const c of commands) {
      const strict = c.strict !== false
      // After a flag, so oclif does not read the extra word as part of a command id (drc archived delete x).
      const args = strict ? [...argsOf(c), '--json', 'unexpected-extra-arg'] : ['not-an-image-ref', '--json']
      const r = runCli([...words(c.id), ...args], {cwd: dir, env})
      const e = expectError(r, c.id, 2, strict ? 'UnexpectedArgsError' : 'UsageError')
      expect(e.message, c.id).to.include(strict ? 'unexpected-extra-arg' : 'not-an-image-ref')
    }
  })

  it('an invalid configuration is the UsageError envelope naming the key, exit 2 (every command)', () => {
    const bad = path.join(dir, 'bad.yaml')
    writeFileSync(bad, 'mongo:\n  port: not-a-number\n')
    for (const c of commands) {
      if (READS_NO_CONFIG.has(c.id)) continue
      const asResult = CONFIG_AS_RESULT[c.id]
      const args = asResult?.args ?? argsOf(c)
      const r = runCli([...words(c.id), ...args, '--json'], {cwd: dir, env: {...env, CONFIG_FILE: bad}})
      if (asResult) {
        expect(JSON.stringify(expectSuccess(r, c.id, asResult.status).result), c.id).to.include('mongo.port')
        continue
      }

      const e = expectError(r, c.id, 2, 'UsageError')
      // A command given a placeholder input may refuse that input before it reads the configuration.
      if (argsOf(c).includes('placeholder')) continue
      expect(e.message, c.id).to.include('mongo.port')
      expect((e.actions as string[]).length, c.id).to.be.above(0)
    }
  })

  describe('success against the test services', () => {
    let s: ServiceSettings
    let okEnv: Record<string, string | undefined>

    before(async () => {
      s = await testServices()
      const repo = uniqueRepo('envelope')
      const database = `envelope_${repo.replaceAll('-', '_')}`
      await createDominoCollections(s.mongo.uri, database, REQUIRED_COLLECTIONS)
      // A configuration key drc does not know: a warning, which must reach the envelope's `warnings` under --json.
      const file = path.join(dir, 'drc.config.yaml')
      writeFileSync(file, 'no_such_section:\n  key: 1\n')
      okEnv = {
        ...env,
        ...healthyEnv(s, repo, database),
        CONFIG_FILE: file,
        HOME: '/nonexistent-drc-home',
        OUTPUT_DIR: path.join(dir, 'reports'),
      }
    })

    const cases: Array<{args: string[]; id: string; status?: number}> = [
      {args: [], id: 'config:show'},
      {args: ['--check', 'configuration'], id: 'health'},
      {args: [], id: 'usage:report'},
      {args: [], id: 'unused:list'},
      {args: [], id: 'references:list'},
      {args: [], id: 'archived:list'},
      {args: [], id: 'tag-age:list'},
    ]
    for (const k of cases)
      it(`drc ${k.id.replaceAll(':', ' ')} --json: {status, result, warnings} with the configuration warning`, () => {
        const r = runCli([...words(k.id), ...k.args, '--json'], {cwd: dir, env: okEnv})
        const e = expectSuccess(r, k.id, k.status ?? 0)
        if (k.id !== 'config:show' && k.id !== 'health')
          expect((e.warnings as string[]).join('\n'), k.id).to.include('no_such_section')
        expect(r.stderr, k.id).not.to.include('no_such_section')
      })

    it('every result has exactly the keys docs/json-output.md documents for its command', () => {
      const documented = documentedKeys()
      const runs = [
        ...cases,
        {args: [], id: 'archived:delete'},
        {args: [], id: 'unused:delete'},
        {args: [], id: 'unused:archive'},
        {args: [], id: 'unused:old-revisions'},
        {args: [], id: 'unused:reset-defaults'},
        {args: [], id: 'references:delete'},
        {args: [], id: 'report:image-size'},
        {args: [], id: 'report:user-size'},
        {args: [], id: 'reports'},
        {args: [], id: 'registry:status'},
        {args: [], id: 'backup:list'},
      ]
      const problems: string[] = []
      for (const k of runs) {
        const r = runCli([...words(k.id), ...k.args, '--json'], {cwd: dir, env: okEnv})
        const keys = Object.keys(expectSuccess(r, k.id, k.status ?? 0).result as object).sort()
        const doc = documented.get(k.id)
        const missing = doc ? doc.required.filter((key) => !keys.includes(key)) : []
        const extra = keys.filter((key) => !doc || (!doc.required.includes(key) && !doc.optional.includes(key)))
        if (!doc || missing.length > 0 || extra.length > 0)
          problems.push(`drc ${k.id}: ${doc ? '' : 'no section; '}missing [${missing}] undocumented [${extra}]`)
      }

      expect(problems).to.deep.equal([])
    })

    it('deactivated users --json (needs Keycloak)', function () {
      if (!s.keycloak) this.skip()
      const r = runCli(['deactivated', 'users', '--json'], {cwd: dir, env: okEnv})
      expectSuccess(r, 'deactivated:users')
    })
  })
})
