import type {Socket} from 'node:net'

/**
 * An HTTP proxy in front of a real registry that injects faults: 429/503 with Retry-After on every n-th request,
 * or sudden death (every socket destroyed, the port closed) after n requests. Everything else is forwarded.
 */
import http from 'node:http'

import {freePort} from './ports.js'

export interface FaultOptions {
  /** After this many forwarded requests the proxy dies: open sockets are destroyed and the port closes. */
  dieAfter?: number
  /** Answer every n-th request with `status` (default 429) and `Retry-After: retryAfter` instead of forwarding it. */
  throttle?: {every: number; retryAfter?: string; status?: number}
}

export interface FaultProxy {
  /** Requests answered with an injected fault. */
  faults: number
  /** Requests forwarded to the registry. */
  forwarded: number
  options: FaultOptions
  stop(): Promise<void>
  url: string
}

/**
 * Forwards one request to `upstream` and pipes the answer back; a failed upstream connection destroys the
 * client's socket. `locationsTo` rewrites absolute Location headers from the upstream origin to that URL.
 */
export function forwardRequest(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  upstream: URL,
  opts: {agent?: http.Agent; locationsTo?: string} = {},
): void {
  const out = http.request(
    {
      agent: opts.agent,
      headers: {...req.headers, host: upstream.host},
      hostname: upstream.hostname,
      method: req.method,
      path: req.url,
      port: upstream.port,
    },
    (up) => {
      const headers = {...up.headers}
      if (opts.locationsTo && typeof headers.location === 'string')
        headers.location = headers.location.replace(upstream.origin, opts.locationsTo)
      res.writeHead(up.statusCode ?? 502, headers)
      up.pipe(res)
    },
  )
  out.on('error', () => res.destroy())
  req.pipe(out)
}

export async function startFaultProxy(target: string, options: FaultOptions = {}): Promise<FaultProxy> {
  const upstream = new URL(target)
  const agent = new http.Agent({keepAlive: true, maxSockets: 16})
  const sockets = new Set<Socket>()
  const port = await freePort()
  let seen = 0
  let dead = false

  const server = http.createServer((req, res) => {
    seen++
    const {dieAfter, throttle} = proxy.options
    if (throttle && seen % throttle.every === 0) {
      proxy.faults++
      req.resume()
      res.writeHead(throttle.status ?? 429, {
        'content-type': 'application/json',
        ...(throttle.retryAfter ? {'retry-after': throttle.retryAfter} : {}),
      })
      res.end(JSON.stringify({errors: [{code: 'TOOMANYREQUESTS', message: 'injected by fault proxy'}]}))
      return
    }

    if (dieAfter !== undefined && proxy.forwarded >= dieAfter) {
      die()
      return
    }

    proxy.forwarded++
    // The registry's absolute upload Locations must point back at the proxy.
    forwardRequest(req, res, upstream, {agent, locationsTo: proxy.url})
  })
  server.on('connection', (s) => {
    if (dead) s.destroy()
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })

  function die(): void {
    if (dead) return
    dead = true
    server.close()
    for (const s of sockets) s.destroy()
  }

  await new Promise<void>((resolve) => {
    server.listen(port, '127.0.0.1', resolve)
  })
  const proxy: FaultProxy = {
    faults: 0,
    forwarded: 0,
    options,
    async stop() {
      die()
      agent.destroy()
    },
    url: `http://127.0.0.1:${port}`,
  }
  return proxy
}
