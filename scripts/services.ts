/**
 * Keeps the real services running for repeated test runs, and the demo's sandbox across stops and reboots:
 *   node --import tsx scripts/services.ts start [--no-keycloak] [--sandbox]   # detached supervisor
 *   node --import tsx scripts/services.ts status [--sandbox]
 *   node --import tsx scripts/services.ts stop [--sandbox]
 * Test services (default): fresh and empty each start, settings in .drc/services.json; with them running,
 * `DRC_TEST_SERVICES=.drc/services.json npx mocha …` reuses them instead of starting its own.
 * The sandbox (`--sandbox`, `npm run sandbox:start|stop`): data kept under .drc/sandbox/state, the same ports again
 * (.drc/sandbox/ports.json; a taken port is replaced), and .drc/sandbox/drc.config.yaml rewritten to match on every
 * start, Keycloak re-seeded from .drc/sandbox/facts.json (it keeps no data of its own).
 */
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const sandbox = args.includes('--sandbox')
const stateDir = sandbox ? path.join(root, '.drc', 'sandbox') : path.join(root, '.drc')
const servicesFile = path.join(stateDir, 'services.json')
const pidFile = path.join(stateDir, 'services.pid')
const logFile = path.join(stateDir, 'services.log')
const portsFile = path.join(stateDir, 'ports.json')
const label = sandbox ? 'sandbox' : 'services'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** The supervisor's pid, if it runs (after a reboot the recorded pid may belong to another process). */
function supervisorPid(): number | undefined {
  if (!existsSync(pidFile)) return undefined
  const pid = Number(readFileSync(pidFile, 'utf8').trim())
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('services.ts') ? pid : undefined
  } catch {
    return pid // no /proc (macOS): trust the pid
  }
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T
  } catch {
    return undefined
  }
}

/** Sandbox only: configuration and Keycloak users follow the services that just started. */
async function resumeSandbox(settings: import('../test/support/harness.js').ServiceSettings): Promise<void> {
  const {writeSandboxConfig} = await import('./sandbox-config.js')
  writeFileSync(portsFile, `${JSON.stringify(settings.ports, null, 2)}\n`)
  writeSandboxConfig(settings, stateDir)
  const facts = readJson<{keycloakUsers: Array<{enabled: boolean; id: string; login: string}>}>(
    path.join(stateDir, 'facts.json'),
  )
  if (settings.keycloak && facts) {
    const {seedKeycloak} = await import('../test/support/keycloak.js')
    const users = facts.keycloakUsers.map((u) => ({dominoUserId: u.id, enabled: u.enabled, username: u.login}))
    await seedKeycloak(settings.keycloak, users, settings.keycloak.realm)
  }
}

/** Runs inside the detached process: starts everything, writes the files, waits for a stop signal. */
async function supervise(keycloak: boolean): Promise<void> {
  const {startAll} = await import('../test/support/harness.js')
  const {installExitHooks} = await import('../test/support/proc.js')
  installExitHooks()
  const started = Date.now()
  rmSync(servicesFile, {force: true})
  const harness = await startAll({
    keycloak,
    servicesFile: `${servicesFile}.tmp`,
    ...(sandbox ? {ports: readJson(portsFile), s3Bucket: 'drc-backups', stateDir: path.join(stateDir, 'state')} : {}),
  })
  if (sandbox) await resumeSandbox(harness.settings)
  // Rename-free "atomic" publish: write the final file only once everything answers.
  writeFileSync(servicesFile, readFileSync(`${servicesFile}.tmp`))
  rmSync(`${servicesFile}.tmp`, {force: true})
  console.log(
    `${label} ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(harness.settings.timings)}`,
  )
  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    await harness.stopAll()
    rmSync(servicesFile, {force: true})
    rmSync(pidFile, {force: true})
    process.exit(0)
  }

  // Replace the harness' immediate-kill handlers with a clean stop (the 'exit' hook still kills leftovers).
  process.removeAllListeners('SIGTERM')
  process.removeAllListeners('SIGINT')
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  setInterval(() => {}, 60_000) // stay alive
}

async function start(): Promise<void> {
  const running = supervisorPid()
  if (running && existsSync(servicesFile)) {
    console.log(`${label} already running (pid ${running}): ${path.relative(process.cwd(), servicesFile)}`)
    return
  }

  mkdirSync(stateDir, {recursive: true})
  rmSync(servicesFile, {force: true})
  const log = openSync(logFile, 'a')
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), 'supervise', ...args.filter((a) => a.startsWith('--'))],
    {cwd: root, detached: true, stdio: ['ignore', log, log]},
  )
  writeFileSync(pidFile, `${child.pid}\n`)
  child.unref()
  const started = Date.now()
  while (!existsSync(servicesFile)) {
    if (!alive(child.pid!)) throw new Error(`the services supervisor exited; see ${logFile}`)
    if (Date.now() - started > 300_000) throw new Error(`services not ready after 300 s; see ${logFile}`)
    // eslint-disable-next-line no-await-in-loop
    await sleep(250)
  }

  console.log(`${label} started in ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${child.pid})`)
  if (sandbox) {
    const rel = path.relative(process.cwd(), stateDir)
    console.log(`configuration: ${rel}/drc.config.yaml (source ${rel}/env.sh for its credentials)`)
  } else console.log(`export DRC_TEST_SERVICES=${servicesFile}`)
}

async function stop(): Promise<void> {
  const pid = supervisorPid()
  if (!pid) {
    console.log(`${label} not running`)
    rmSync(pidFile, {force: true})
    return
  }

  process.kill(pid, 'SIGTERM')
  const started = Date.now()
  while (alive(pid) && Date.now() - started < 30_000) {
    // eslint-disable-next-line no-await-in-loop
    await sleep(100)
  }

  if (alive(pid)) process.kill(pid, 'SIGKILL')
  rmSync(pidFile, {force: true})
  rmSync(servicesFile, {force: true})
  console.log(`${label} stopped (pid ${pid})`)
}

const [command] = args
const keycloak = !args.includes('--no-keycloak')
switch (command) {
  case 'start': {
    await start()
    break
  }

  case 'status': {
    const pid = supervisorPid()
    console.log(
      pid && existsSync(servicesFile)
        ? `${label} running (pid ${pid}): ${readFileSync(servicesFile, 'utf8')}`
        : `${label} not running`,
    )
    if (!pid) process.exitCode = 1
    break
  }

  case 'stop': {
    await stop()
    break
  }

  case 'supervise': {
    await supervise(keycloak)
    break
  }

  default: {
    console.error('usage: node --import tsx scripts/services.ts start [--no-keycloak] | status | stop  [--sandbox]')
    process.exitCode = 2
  }
}
