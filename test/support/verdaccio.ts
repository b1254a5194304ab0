/* eslint-disable n/no-unsupported-features/node-builtins -- global fetch is available (unflagged) on Node 20, our floor */
/**
 * A real npm registry (verdaccio) on 127.0.0.1 for the publish/install tests. It has no uplinks: a package that was
 * not published to it is a 404, so a test can never pull anything from the internet by accident.
 */
import {randomBytes} from 'node:crypto'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {ensureVerdaccio, verdaccioEntry} from './install.js'
import {freePort} from './ports.js'
import {httpAnswers, spawnService, waitUntil} from './proc.js'

export interface LocalRegistry {
  /** A fresh npm cache for every npm run against this registry (never the user's cache). */
  cache: string
  /** Scratch directory of this registry (storage, logs, npm files); removed by stop(). */
  dir: string
  logPath: string
  stop(): Promise<void>
  /** Publish token of the test user (what `npm adduser` would store). */
  token: string
  /** Registry URL with a trailing slash, as npm writes it. */
  url: string
  /** An npmrc with the registry and the publish token of the test user; pass it as `--userconfig`. */
  userconfig: string
}

function verdaccioConfig(dir: string, port: number): string {
  // JSON is YAML: verdaccio reads it as its config file.
  const open = {access: '$all', publish: '$authenticated', unpublish: '$authenticated'}
  const config = {
    auth: {htpasswd: {file: path.join(dir, 'htpasswd'), max_users: 10}},
    listen: `127.0.0.1:${port}`,
    log: {format: 'pretty', level: 'warn', type: 'stdout'},
    // The CLI tarball is a few MB; the default limit (10 MB) is close enough to bite once it grows.
    max_body_size: '200mb',
    packages: {'**': open, '@*/*': open},
    storage: path.join(dir, 'storage'),
    uplinks: {},
    web: {enable: false},
  }
  const file = path.join(dir, 'config.yaml')
  writeFileSync(file, JSON.stringify(config, null, 2) + '\n')
  return file
}

/** Creates the publishing user the way `npm adduser` does, and returns its token. */
async function createUser(url: string): Promise<string> {
  const name = 'drc-test'
  const response = await fetch(`${url}-/user/org.couchdb.user:${name}`, {
    body: JSON.stringify({
      date: new Date().toISOString(),
      email: 'drc-test@example.invalid',
      name,
      password: randomBytes(12).toString('hex'),
      roles: [],
      type: 'user',
    }),
    headers: {'content-type': 'application/json'},
    method: 'PUT',
  })
  const body = (await response.json()) as {error?: string; token?: string}
  if (response.status !== 201 || !body.token) {
    throw new Error(`verdaccio did not create the test user: HTTP ${response.status} ${JSON.stringify(body)}`)
  }

  return body.token
}

/** Starts verdaccio (installing it first if needed) with empty storage on a free loopback port. */
export async function startVerdaccio(log: (line: string) => void = () => {}): Promise<LocalRegistry> {
  await ensureVerdaccio(log)
  const dir = mkdtempSync(path.join(tmpdir(), 'drc-verdaccio-'))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}/`
  const logPath = path.join(dir, 'verdaccio.log')
  const service = spawnService(process.execPath, [verdaccioEntry(), '--config', verdaccioConfig(dir, port)], {
    cwd: dir,
    env: {...process.env, NODE_ENV: 'production'},
    logPath,
  })
  const stop = async (): Promise<void> => {
    await service.stop()
    rmSync(dir, {force: true, recursive: true})
  }

  try {
    await waitUntil('verdaccio', () => httpAnswers(`${url}-/ping`, (s) => s === 200), {
      logPath,
      process: service,
      timeoutMs: 60_000,
    })
    const token = await createUser(url)
    const userconfig = path.join(dir, 'npmrc')
    const auth = `//127.0.0.1:${port}/:_authToken=${token}`
    writeFileSync(
      userconfig,
      [`registry=${url}`, auth, 'audit=false', 'fund=false', 'update-notifier=false', ''].join('\n'),
    )
    return {cache: path.join(dir, 'npm-cache'), dir, logPath, stop, token, url, userconfig}
  } catch (error) {
    // The scratch directory stays: its log says why verdaccio did not come up.
    await service.stop()
    throw error
  }
}
