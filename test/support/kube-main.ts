/**
 * Runs the test control plane (etcd, kube-apiserver, kube-controller-manager), the shared platform namespace
 * (domino-platform with the docker-registry StatefulSet) and its node simulator in their own process:
 *   node --import tsx test/support/kube-main.ts <settings.json> [<options.json>]
 * (options: `{port?, registry?: {dataDir?, port?}, stateDir?}`). The node simulator must keep answering while a
 * test process is blocked in spawnSync (CLI tests run the built binary synchronously), so it does not live there.
 * Writes its settings once the StatefulSet has rolled out, stops cleanly on SIGTERM/SIGINT, and exits by itself
 * when its parent process goes away.
 */
import {readFileSync, renameSync, writeFileSync} from 'node:fs'

import type {RegistryOptions} from './registry.js'

import {startClusterRegistry} from './kube-cluster.js'
import {startControlPlane} from './kube-control-plane.js'
import {installExitHooks} from './proc.js'

export interface KubeMainOptions {
  port?: number
  registry?: Pick<RegistryOptions, 'dataDir' | 'port'>
  stateDir?: string
}

const [settingsFile, optionsFile] = process.argv.slice(2)
if (!settingsFile) {
  console.error('usage: kube-main.ts <settings.json> [<options.json>]')
  process.exit(2)
}

installExitHooks()
const options = optionsFile ? (JSON.parse(readFileSync(optionsFile, 'utf8')) as KubeMainOptions) : {}
const controlPlane = await startControlPlane({port: options.port, stateDir: options.stateDir})
const pair = await startClusterRegistry({
  cluster: {
    endpoint: {ca: controlPlane.caData, token: controlPlane.token, url: controlPlane.url},
    kubeconfigPath: controlPlane.kubeconfigPath,
  },
  name: 'docker-registry',
  namespace: 'domino-platform',
  registry: options.registry,
})
const {registry} = pair
const settings = {
  controlPlane: {rssMb: controlPlane.rssMb(), startMs: controlPlane.startMs},
  kube: {
    kubeconfig: controlPlane.kubeconfigPath,
    namespace: pair.namespace,
    statefulset: pair.name,
    token: controlPlane.token,
    url: controlPlane.url,
  },
  registry: {configPath: registry.configPath, dataDir: registry.dataDir, host: registry.host, url: registry.url},
}
writeFileSync(`${settingsFile}.tmp`, JSON.stringify(settings))
renameSync(`${settingsFile}.tmp`, settingsFile)
console.log(`control plane ready in ${controlPlane.startMs} ms, ${controlPlane.rssMb()} MB RSS`)

let stopping = false
async function stop(): Promise<void> {
  if (stopping) return
  stopping = true
  await pair.stop()
  await controlPlane.stop()
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
