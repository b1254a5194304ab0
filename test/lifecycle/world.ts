import {randomBytes} from 'node:crypto'
import http from 'node:http'

import {REQUIRED_COLLECTIONS} from '../../packages/core/src/health/checks/mongodb.js'
import {forwardRequest} from '../support/fault-proxy.js'
import {services} from '../support/harness.js'
import {freePort} from '../support/ports.js'

export const ENV_REPO = 'dominodatalab/environment'
export const MODEL_REPO = 'dominodatalab/model'
export const CLEANUP_COLLECTIONS = ['environments_v2', 'environment_revisions', 'models', 'model_versions'] as const

/** A fresh ObjectId hex created `daysAgo` days ago (old enough: the grace period does not keep its image). */
export function oldId(daysAgo = 90): string {
  const seconds = Math.floor(Date.now() / 1000) - daysAgo * 86_400
  return seconds.toString(16).padStart(8, '0') + randomBytes(8).toString('hex')
}

/** Inserts documents (built with real BSON types by the caller) into a database of their own. */
export async function seedDocs(db: string, docs: Record<string, Array<Record<string, unknown>>>): Promise<void> {
  const {MongoClient} = await import('mongodb')
  const client = await MongoClient.connect(services().mongo.uri)
  try {
    // The usage graph refuses a database without its required collections (empty ones are fine).
    const existing = new Set((await client.db(db).listCollections().toArray()).map((c) => c.name))
    for (const name of REQUIRED_COLLECTIONS)
      // eslint-disable-next-line no-await-in-loop
      if (!existing.has(name)) await client.db(db).createCollection(name)
    for (const [collection, list] of Object.entries(docs))
      // eslint-disable-next-line no-await-in-loop
      if (list.length > 0) await client.db(db).collection(collection).insertMany(list)
  } finally {
    await client.close()
  }
}

/** Every document of the clean-up collections as canonical Extended JSON, sorted: equal only with types equal. */
export async function snapshot(db: string): Promise<Record<string, string[]>> {
  const {BSON, MongoClient} = await import('mongodb')
  const client = await MongoClient.connect(services().mongo.uri)
  try {
    const out: Record<string, string[]> = {}
    for (const c of CLEANUP_COLLECTIONS) {
      // eslint-disable-next-line no-await-in-loop
      const docs = await client.db(db).collection(c).find({}).toArray()
      out[c] = docs.map((d) => JSON.stringify(BSON.EJSON.serialize(d, {relaxed: false}))).sort()
    }

    return out
  } finally {
    await client.close()
  }
}

export interface CountingProxy {
  /** Manifest DELETEs the registry accepted (202), by path: what really deleted something. */
  accepted: Map<string, number>
  /** DELETE requests forwarded, by manifest path. */
  deletes: Map<string, number>
  /** Manifest digests whose DELETE answers 500 (never forwarded). */
  failDigests: Set<string>
  /** Called with the number of manifest DELETEs forwarded so far, before forwarding each. */
  onDelete?: (count: number) => void
  /** Delay before forwarding a manifest DELETE, ms (makes a run long enough to interrupt). */
  slowDeleteMs: number
  stop(): Promise<void>
  url: string
}

/** A proxy in front of a real registry that counts manifest DELETEs and can fail or slow some of them. */
export async function countingProxy(target: string): Promise<CountingProxy> {
  const upstream = new URL(target)
  const agent = new http.Agent({keepAlive: true, maxSockets: 16})
  const port = await freePort()
  const server = http.createServer((req, res) => {
    const url = req.url ?? ''
    if (req.method === 'DELETE' && url.includes('/manifests/')) {
      const digest = url.slice(url.lastIndexOf('/') + 1)
      if (proxy.failDigests.has(digest)) {
        req.resume()
        res.writeHead(500, {'content-type': 'application/json'})
        res.end(JSON.stringify({errors: [{code: 'UNKNOWN', message: 'injected by the test proxy'}]}))
        return
      }

      proxy.deletes.set(url, (proxy.deletes.get(url) ?? 0) + 1)
      res.on('finish', () => {
        if (res.statusCode === 202) proxy.accepted.set(url, (proxy.accepted.get(url) ?? 0) + 1)
      })
      proxy.onDelete?.([...proxy.deletes.values()].reduce((a, b) => a + b, 0))
      if (proxy.slowDeleteMs > 0) {
        setTimeout(() => forwardRequest(req, res, upstream, {agent, locationsTo: proxy.url}), proxy.slowDeleteMs)
        return
      }
    }

    forwardRequest(req, res, upstream, {agent, locationsTo: proxy.url})
  })
  await new Promise<void>((resolve) => {
    server.listen(port, '127.0.0.1', resolve)
  })
  const proxy: CountingProxy = {
    accepted: new Map(),
    deletes: new Map(),
    failDigests: new Set(),
    slowDeleteMs: 0,
    async stop() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
      })
      agent.destroy()
    },
    url: `http://127.0.0.1:${port}`,
  }
  return proxy
}

/** The result of a `--json` run: the success envelope's `result` (or the bare document of older output). */
export function resultOf<T>(stdout: string): T {
  const parsed = JSON.parse(stdout) as unknown
  return (parsed !== null && typeof parsed === 'object' && 'result' in parsed ? parsed.result : parsed) as T
}
