/**
 * Keeps the real test services running for the demo and for repeated test runs:
 *   node --import tsx scripts/services.ts start [--no-keycloak]   # detached supervisor, writes .drc/services.json
 *   node --import tsx scripts/services.ts status
 *   node --import tsx scripts/services.ts stop
 * With them running, `DRC_TEST_SERVICES=.drc/services.json npx mocha …` reuses them instead of starting its own.
 */
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const stateDir = path.join(root, '.drc')
const servicesFile = path.join(stateDir, 'services.json')
const pidFile = path.join(stateDir, 'services.pid')
const logFile = path.join(stateDir, 'services.log')

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function supervisorPid(): number | undefined {
  if (!existsSync(pidFile)) return undefined
  const pid = Number(readFileSync(pidFile, 'utf8').trim())
  return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined
}

/** Runs inside the detached process: starts everything, writes the files, waits for a stop signal. */
async function supervise(keycloak: boolean): Promise<void> {
  const {startAll} = await import('../test/support/harness.js')
  const {installExitHooks} = await import('../test/support/proc.js')
  installExitHooks()
  const started = Date.now()
  rmSync(servicesFile, {force: true})
  const harness = await startAll({keycloak, servicesFile: `${servicesFile}.tmp`})
  // Rename-free "atomic" publish: write the final file only once everything answers.
  writeFileSync(servicesFile, readFileSync(`${servicesFile}.tmp`))
  rmSync(`${servicesFile}.tmp`, {force: true})
  console.log(
    `services ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(harness.settings.timings)}`,
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

async function start(keycloak: boolean): Promise<void> {
  const running = supervisorPid()
  if (running && existsSync(servicesFile)) {
    console.log(`already running (pid ${running}): ${path.relative(process.cwd(), servicesFile)}`)
    return
  }

  mkdirSync(stateDir, {recursive: true})
  rmSync(servicesFile, {force: true})
  const log = openSync(logFile, 'a')
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), 'supervise', ...(keycloak ? [] : ['--no-keycloak'])],
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

  console.log(`services started in ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${child.pid})`)
  console.log(`export DRC_TEST_SERVICES=${servicesFile}`)
}

async function stop(): Promise<void> {
  const pid = supervisorPid()
  if (!pid) {
    console.log('not running')
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
  console.log(`stopped (pid ${pid})`)
}

const [command, ...rest] = process.argv.slice(2)
const keycloak = !rest.includes('--no-keycloak')
switch (command) {
  case 'start': {
    await start(keycloak)
    break
  }

  case 'status': {
    const pid = supervisorPid()
    console.log(
      pid && existsSync(servicesFile) ? `running (pid ${pid}): ${readFileSync(servicesFile, 'utf8')}` : 'not running',
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
    console.error('usage: node --import tsx scripts/services.ts start [--no-keycloak] | status | stop')
    process.exitCode = 2
  }
}
