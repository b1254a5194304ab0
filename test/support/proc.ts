/* eslint-disable n/no-unsupported-features/node-builtins -- global fetch is available (unflagged) on Node 20, our floor */
/**
 * Child-process bookkeeping for the service harness: every service is spawned in its own process group
 * so that a stop (or an emergency kill on exit) also reaches grandchildren (kc.sh starts java).
 */
import {type ChildProcess, spawn, type SpawnOptions} from 'node:child_process'
import {createWriteStream, mkdirSync} from 'node:fs'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

const live = new Set<ChildProcess>()
let hooksInstalled = false

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    try {
      child.kill(signal)
    } catch {
      // already gone
    }
  }
}

/** Kills every live child at once (SIGKILL); safe to call from an 'exit' handler (synchronous). */
export function killAllChildren(): void {
  for (const child of live) killGroup(child, 'SIGKILL')
  live.clear()
}

/**
 * Makes sure a crash or Ctrl-C never leaves services behind. On SIGINT/SIGTERM/SIGHUP we kill the children and
 * then exit with the conventional code; on a normal or crashing exit the 'exit' handler kills them.
 */
export function installExitHooks(): void {
  if (hooksInstalled) return
  hooksInstalled = true
  process.on('exit', killAllChildren)
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.once(signal, () => {
      killAllChildren()
      process.exit(code)
    })
  }
}

export interface Spawned {
  child: ChildProcess
  /** Resolves when the process has exited (with its exit code, or null when killed by a signal). */
  exited: Promise<null | number>
  logPath: string
  /** SIGTERM to the process group, SIGKILL after `graceMs`; resolves once the pid is gone. */
  stop(graceMs?: number): Promise<void>
}

/** Spawns a long-running service with stdout+stderr appended to `logPath`. */
export function spawnService(command: string, args: string[], options: SpawnOptions & {logPath: string}): Spawned {
  installExitHooks()
  mkdirSync(path.dirname(options.logPath), {recursive: true})
  const log = createWriteStream(options.logPath, {flags: 'a'})
  const child = spawn(command, args, {...options, detached: true, stdio: ['ignore', 'pipe', 'pipe']})
  child.stdout?.pipe(log, {end: false})
  child.stderr?.pipe(log, {end: false})
  live.add(child)
  const exited = new Promise<null | number>((resolve) => {
    child.once('exit', (code) => {
      live.delete(child)
      resolve(code)
    })
    child.once('error', (error) => {
      live.delete(child)
      log.write(`spawn error: ${error.message}\n`)
      resolve(-1)
    })
  })
  exited.finally(() => log.end())
  // The harness must not keep the event loop alive through its children.
  child.unref()
  for (const stream of [child.stdout, child.stderr]) (stream as unknown as {unref?: () => void})?.unref?.()

  async function stop(graceMs = 5000): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return
    killGroup(child, 'SIGTERM')
    // The grace timer is cancelled once the process exits, so it never keeps the event loop alive.
    const cancel = new AbortController()
    const timer = sleep(graceMs, 'timeout' as const, {signal: cancel.signal}).catch(() => 'cancelled' as const)
    const outcome = await Promise.race([exited, timer])
    cancel.abort()
    if (outcome === 'timeout') {
      killGroup(child, 'SIGKILL')
      await exited
    }
  }

  return {child, exited, logPath: options.logPath, stop}
}

/**
 * Polls `probe` until it returns true; fails with the service name, the time waited and the log path,
 * and fails fast when the process died.
 */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  options: {intervalMs?: number; logPath?: string; process?: Spawned; timeoutMs: number},
): Promise<void> {
  const started = Date.now()
  const interval = options.intervalMs ?? 50
  let exitedCode: null | number | undefined
  options.process?.exited.then((code) => {
    exitedCode = code
  })
  while (Date.now() - started < options.timeoutMs) {
    // eslint-disable-next-line no-await-in-loop
    if (await probe().catch(() => false)) return
    if (exitedCode !== undefined) {
      throw new Error(`${what} exited (code ${exitedCode}) before it was ready; see ${options.logPath ?? 'its log'}`)
    }

    // eslint-disable-next-line no-await-in-loop
    await sleep(interval)
  }

  throw new Error(`${what} was not ready after ${options.timeoutMs} ms; see ${options.logPath ?? 'its log'}`)
}

/** True when an HTTP GET of `url` answers with a status accepted by `ok` (default: any status below 500). */
export async function httpAnswers(url: string, ok: (status: number) => boolean = (s) => s < 500): Promise<boolean> {
  const response = await fetch(url, {signal: AbortSignal.timeout(2000)})
  await response.arrayBuffer()
  return ok(response.status)
}
