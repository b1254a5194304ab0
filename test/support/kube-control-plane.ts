/**
 * A real Kubernetes control plane on 127.0.0.1: Debian's etcd, kube-apiserver and kube-controller-manager (built
 * once per machine by kube-build.ts). Token authentication (an admin token in system:masters), RBAC,Node
 * authorization, service-account issuer and keys (TokenRequest tokens work). There is no kubelet and no scheduler:
 * node-sim.ts binds pods and writes their status. Nothing here reads ~/.kube.
 */
import {randomUUID} from 'node:crypto'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {etcdBinary} from './install.js'
import {ensureKubeBinaries} from './kube-build.js'
import {makeCerts} from './kube-certs.js'
import {freePort, portOrFree} from './ports.js'
import {type Spawned, spawnService, waitUntil} from './proc.js'

export interface ControlPlaneOptions {
  /** Reuse the API server's port when it is free (a resumed sandbox keeps its kubeconfig valid). */
  port?: number
  /** Keep certificates, tokens and etcd data here across restarts (default: a temp dir removed on stop). */
  stateDir?: string
}

export interface ControlPlane {
  /** PEM of the cluster CA (for kubeconfigs of other identities, e.g. ServiceAccount tokens). */
  caData: string
  dir: string
  kubeconfigPath: string
  /** Resident memory of etcd + apiserver + controller-manager, MB (read from /proc at start). */
  rssMb(): number
  /** Milliseconds from spawn to /readyz and to the controller-manager's first reconcile. */
  startMs: number
  stop(): Promise<void>
  token: string
  url: string
}

/** A kubeconfig for `server` authenticating with a bearer `token` (the harness's CA, no exec plugins). */
export function kubeconfigYaml(server: string, caData: string, token: string, user = 'drc-test'): string {
  const ca = Buffer.from(caData).toString('base64')
  // A plain-HTTP server (the test interposer) has no certificate to verify; client-node insists on saying so.
  const trust = server.startsWith('http:') ? 'insecure-skip-tls-verify: true' : `certificate-authority-data: ${ca}`
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: drc-test`,
    `  cluster: {server: '${server}', ${trust}}`,
    'users:',
    `- name: ${user}`,
    `  user: {token: '${token}'}`,
    'contexts:',
    `- name: drc-test`,
    `  context: {cluster: drc-test, user: ${user}}`,
    'current-context: drc-test',
    '',
  ].join('\n')
}

function rssOf(pid: number | undefined): number {
  if (!pid) return 0
  try {
    const match = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) / 1024 : 0
  } catch {
    return 0
  }
}

async function readyz(url: string, token: string): Promise<boolean> {
  // Loopback only, our own CA: the probe skips verification rather than loading the CA into undici.
  const {request} = await import('node:https')
  return new Promise((resolve) => {
    const req = request(
      `${url}/readyz`,
      {headers: {authorization: `Bearer ${token}`}, rejectUnauthorized: false},
      (res) => {
        res.resume()
        resolve(res.statusCode === 200)
      },
    )
    req.on('error', () => resolve(false))
    req.setTimeout(2000, () => req.destroy())
    req.end()
  })
}

async function startEtcd(dir: string): Promise<{proc: Spawned; url: string}> {
  const binary = etcdBinary()
  if (!binary) throw new Error('etcd not found: run `node --import tsx test/support/install.ts` (apt etcd-server)')
  const [client, peer] = [await freePort(), await freePort()]
  const url = `http://127.0.0.1:${client}`
  const peerUrl = `http://127.0.0.1:${peer}`
  const proc = spawnService(
    binary,
    [
      `--name=drc-test`,
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=drc-test=${peerUrl}`,
      '--log-level=warn',
    ],
    // etcd 3.4 refuses to start on a non-amd64/arm64 arch without this; harmless elsewhere.
    {env: {...process.env, ETCD_UNSUPPORTED_ARCH: process.arch}, logPath: path.join(dir, 'etcd.log')},
  )
  await waitUntil(
    `etcd on ${url}`,
    async () => {
      // eslint-disable-next-line n/no-unsupported-features/node-builtins -- global fetch is unflagged on Node 20
      const res = await fetch(`${url}/health`, {signal: AbortSignal.timeout(2000)})
      return res.ok && ((await res.json()) as {health?: string}).health === 'true'
    },
    {logPath: proc.logPath, process: proc, timeoutMs: 30_000},
  )
  return {proc, url}
}

function apiserverArgs(dir: string, etcdUrl: string, port: number): string[] {
  const f = (name: string) => path.join(dir, name)
  return [
    '--advertise-address=127.0.0.1',
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    // The advertise address is loopback, so the default endpoint reconciler refuses to start.
    '--endpoint-reconciler-type=none',
    // Required, never routed: there is no kube-proxy here.
    '--service-cluster-ip-range=10.96.0.0/16',
    `--etcd-servers=${etcdUrl}`,
    `--tls-cert-file=${f('apiserver.crt')}`,
    `--tls-private-key-file=${f('apiserver.key')}`,
    `--client-ca-file=${f('ca.crt')}`,
    `--token-auth-file=${f('tokens.csv')}`,
    '--authorization-mode=RBAC,Node',
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${f('sa.pub')}`,
    `--service-account-signing-key-file=${f('sa.key')}`,
    '--profiling=false',
  ]
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const started = Date.now()
  const bins = await ensureKubeBinaries((line) => console.error(line))
  const dir = options.stateDir ?? mkdtempSync(path.join(os.tmpdir(), 'drc-kube-'))
  mkdirSync(dir, {recursive: true})
  const f = (name: string) => path.join(dir, name)
  if (!existsSync(f('sa.pub'))) makeCerts(dir)
  if (!existsSync(f('tokens.csv')))
    writeFileSync(f('tokens.csv'), `drc-admin-${randomUUID()},drc-admin,drc-admin-uid,system:masters\n`)
  const token = readFileSync(f('tokens.csv'), 'utf8').split(',')[0]
  const caData = readFileSync(f('ca.crt'), 'utf8')
  const procs: Spawned[] = []
  const stopAll = async () => {
    for (const proc of procs.reverse()) await proc.stop(5000) // eslint-disable-line no-await-in-loop
  }

  try {
    const etcd = await startEtcd(dir)
    procs.push(etcd.proc)
    const port = await portOrFree(options.port)
    const url = `https://127.0.0.1:${port}`
    const apiserver = spawnService(bins.apiserver, apiserverArgs(dir, etcd.url, port), {
      logPath: f('kube-apiserver.log'),
    })
    procs.push(apiserver)
    await waitUntil(`kube-apiserver on ${url}`, () => readyz(url, token), {
      intervalMs: 100,
      logPath: apiserver.logPath,
      process: apiserver,
      timeoutMs: 60_000,
    })
    const kubeconfigPath = f('kubeconfig')
    writeFileSync(kubeconfigPath, kubeconfigYaml(url, caData, token, 'drc-admin'), {mode: 0o600})
    const cm = spawnService(
      bins.controllerManager,
      [
        '--controllers=statefulset,deployment,replicaset,job,serviceaccount-token,serviceaccount',
        '--leader-elect=false',
        '--secure-port=0',
        `--kubeconfig=${kubeconfigPath}`,
        `--service-account-private-key-file=${f('sa.key')}`,
        `--root-ca-file=${f('ca.crt')}`,
      ],
      {logPath: f('kube-controller-manager.log')},
    )
    procs.push(cm)
    // The serviceaccount controller creating `default` in `default` means the controllers are running (pods of a
    // new namespace need that ServiceAccount before they can be created).
    await waitUntil(
      'kube-controller-manager',
      async () => {
        const {kubeGet} = await import('./kube-rest.js')
        return (
          (await kubeGet({ca: caData, token, url}, '/api/v1/namespaces/default/serviceaccounts/default')).status === 200
        )
      },
      {intervalMs: 200, logPath: cm.logPath, process: cm, timeoutMs: 60_000},
    )
    const startMs = Date.now() - started
    return {
      caData,
      dir,
      kubeconfigPath,
      rssMb: () => Math.round(procs.reduce((sum, p) => sum + rssOf(p.child.pid), 0)),
      startMs,
      async stop() {
        await stopAll()
        if (!options.stateDir) rmSync(dir, {force: true, recursive: true})
      },
      token,
      url,
    }
  } catch (error) {
    await stopAll()
    throw error
  }
}
