/**
 * A minimal REST client for the test control plane (the harness's own plumbing: the node simulator and object
 * seeding). drc itself talks to the same server through @kubernetes/client-node.
 */
import https from 'node:https'

export interface KubeEndpoint {
  /** PEM of the cluster CA. */
  ca: string
  token: string
  /** https://127.0.0.1:<port> */
  url: string
}

export interface KubeReply {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kubernetes objects are free-form JSON here
  body: any
  status: number
}

const agents = new Map<string, https.Agent>()
function agentFor(ca: string): https.Agent {
  let agent = agents.get(ca)
  if (!agent) {
    agent = new https.Agent({ca, keepAlive: true})
    agents.set(ca, agent)
  }

  return agent
}

/** One request: `allow` lists non-2xx statuses {@link kubeCall} accepts; `body` is sent as JSON (or `contentType`). */
export interface KubeCall {
  allow?: number[]
  body?: unknown
  contentType?: string
  method: string
  path: string
}

export async function kubeRequest(
  endpoint: KubeEndpoint,
  {body, contentType = 'application/json', method, path}: KubeCall,
): Promise<KubeReply> {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${endpoint.url}${path}`,
      {
        agent: agentFor(endpoint.ca),
        headers: {
          accept: 'application/json',
          authorization: `Bearer ${endpoint.token}`,
          ...(payload === undefined ? {} : {'content-length': Buffer.byteLength(payload), 'content-type': contentType}),
        },
        method,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let parsed: unknown = text
          try {
            parsed = text ? JSON.parse(text) : undefined
          } catch {
            // not JSON (e.g. /readyz): keep the text
          }

          resolve({body: parsed, status: res.statusCode ?? 0})
        })
      },
    )
    req.on('error', reject)
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)))
    req.end(payload)
  })
}

export const kubeGet = (endpoint: KubeEndpoint, path: string) => kubeRequest(endpoint, {method: 'GET', path})

/** Like kubeRequest, but a status outside 2xx (and not in `allow`) is an error naming the request. */
export async function kubeCall(endpoint: KubeEndpoint, call: KubeCall): Promise<KubeReply> {
  const reply = await kubeRequest(endpoint, call)
  if ((reply.status < 200 || reply.status > 299) && !call.allow?.includes(reply.status)) {
    throw new Error(`${call.method} ${call.path}: ${reply.status} ${reply.body?.message ?? JSON.stringify(reply.body)}`)
  }

  return reply
}

/** {@link kubeCall} for the common case: any status outside 2xx is an error. */
export const kube = (endpoint: KubeEndpoint, method: string, path: string, body?: unknown): Promise<KubeReply> =>
  kubeCall(endpoint, {body, method, path})

/**
 * Streams watch events of `path` (a list path) to `onEvent` until aborted; reconnects when the server closes the
 * stream. Callers that need every state also poll: a watch is only the prompt to look again.
 */
export function kubeWatch(endpoint: KubeEndpoint, path: string, onEvent: () => void): () => void {
  let stopped = false
  let current: ReturnType<typeof https.request> | undefined
  const connect = () => {
    if (stopped) return
    const sep = path.includes('?') ? '&' : '?'
    current = https.request(
      `${endpoint.url}${path}${sep}watch=1`,
      {agent: agentFor(endpoint.ca), headers: {authorization: `Bearer ${endpoint.token}`}},
      (res) => {
        res.on('data', () => onEvent())
        res.on('end', () => setTimeout(connect, 200))
        res.on('error', () => {})
      },
    )
    current.on('error', () => setTimeout(connect, 500))
    current.end()
  }

  connect()
  return () => {
    stopped = true
    current?.destroy()
  }
}
