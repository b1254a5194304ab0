/**
 * Runs a registry + fake Kubernetes API pair in its own process (used by the shared harness):
 *   node --import tsx test/support/kube-fake-main.ts <settings.json>
 * An in-process fake cannot answer while its test process is blocked in spawnSync (CLI tests run the built
 * binary synchronously), so the shared pair lives here. It writes its settings once ready, stops cleanly on
 * SIGTERM/SIGINT, and exits by itself when its parent process goes away.
 */
import {renameSync, writeFileSync} from 'node:fs'

import {pairSettings, startRegistryWithKube} from './harness.js'
import {installExitHooks} from './proc.js'

const [settingsFile] = process.argv.slice(2)
if (!settingsFile) {
  console.error('usage: kube-fake-main.ts <settings.json>')
  process.exit(2)
}

installExitHooks()
const pair = await startRegistryWithKube()
const settings = pairSettings(pair)
writeFileSync(`${settingsFile}.tmp`, JSON.stringify(settings))
renameSync(`${settingsFile}.tmp`, settingsFile)

let stopping = false
async function stop(): Promise<void> {
  if (stopping) return
  stopping = true
  await pair.stop()
  process.exit(0)
}

process.removeAllListeners('SIGTERM')
process.removeAllListeners('SIGINT')
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
const parent = process.ppid
setInterval(() => {
  try {
    process.kill(parent, 0)
  } catch {
    stop().catch(() => process.exit(1))
  }
}, 1000)
