/**
 * A plain-HTTP pass-through in front of the real test API server that lets a test act between two of drc's
 * requests (e.g. change a StatefulSet after drc read it and before its patch arrives), so the real server, not
 * the test, decides what a concurrent writer does to drc's write. It never answers a request itself.
 */
import http from 'node:http'
import https from 'node:https'

import type {KubeEndpoint} from './kube-rest.js'

import {kubeconfigYaml} from './kube-control-plane.js'
import {freePort} from './ports.js'

export interface Interposer {
  /** Runs `action` once, before forwarding the first request matching `method` and `path`. */
  before(method: string, path: RegExp, action: () => Promise<void>): void
  /** A kubeconfig that talks to the API server through the interposer (same token). */
  kubeconfig: string
  /** Every request forwarded: method and path. */
  requests: Array<{method: string; path: string}>
  stop(): Promise<void>
}

/** `token`: whom the interposer's kubeconfig authenticates as (default: the endpoint's admin token). */
export async function startInterposer(endpoint: KubeEndpoint, token = endpoint.token): Promise<Interposer> {
  const hooks: Array<{action: () => Promise<void>; method: string; path: RegExp}> = []
  const requests: Interposer['requests'] = []
  const agent = new https.Agent({ca: endpoint.ca, keepAlive: true})
  const server = http.createServer(async (req, res) => {
    const method = req.method ?? 'GET'
    const url = req.url ?? '/'
    requests.push({method, path: url})
    const index = hooks.findIndex((h) => h.method === method && h.path.test(url))
    if (index !== -1) await hooks.splice(index, 1)[0].action()
    const out = https.request(`${endpoint.url}${url}`, {agent, headers: req.headers, method}, (upstream) => {
      res.writeHead(upstream.statusCode ?? 502, upstream.headers)
      upstream.pipe(res)
    })
    out.on('error', () => res.destroy())
    req.pipe(out)
  })
  const port = await freePort()
  await new Promise<void>((resolve) => {
    server.listen(port, '127.0.0.1', resolve)
  })
  const {mkdtempSync, writeFileSync} = await import('node:fs')
  const {tmpdir} = await import('node:os')
  const kubeconfig = `${mkdtempSync(`${tmpdir()}/drc-interpose-`)}/kubeconfig`
  writeFileSync(kubeconfig, kubeconfigYaml(`http://127.0.0.1:${port}`, endpoint.ca, token))
  return {
    before(method, path, action) {
      hooks.push({action, method, path})
    },
    kubeconfig,
    requests,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
