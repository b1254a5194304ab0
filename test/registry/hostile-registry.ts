import type {AddressInfo} from 'node:net'

import {createHash} from 'node:crypto'
import http from 'node:http'

/**
 * A registry that lies: a small node:http server speaking enough of the distribution API for a scan, whose
 * answers (digest headers, manifest bodies, tag lists) the test chooses. Real registries never answer like this,
 * which is why it is not the real one.
 */
export interface HostileAnswer {
  body: Buffer
  /** Docker-Content-Digest header; omitted when undefined. */
  digest?: string
  mediaType: string
}

export interface HostileRegistry {
  /** Paths the registry was asked for, e.g. `GET /v2/acme/environment/manifests/t1`. */
  requests: string[]
  stop(): Promise<void>
  url: string
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'

export const sha256 = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`

/** An image manifest body with one config and one layer of the given digests. */
export function imageManifest(config: string, layer: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      config: {digest: config, mediaType: 'application/vnd.oci.image.config.v1+json', size: 10},
      layers: [{digest: layer, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: 20}],
      mediaType: OCI_MANIFEST,
      schemaVersion: 2,
    }),
  )
}

export async function startHostileRegistry(
  tags: Record<string, string[]>,
  manifests?: (repository: string, reference: string) => HostileAnswer | undefined,
): Promise<HostileRegistry> {
  const requests: string[] = []
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/'
    requests.push(`${req.method} ${url}`)
    if (url === '/v2/') return res.writeHead(200, {'content-type': 'application/json'}).end('{}')
    if (url.startsWith('/v2/_catalog')) return res.writeHead(200).end(JSON.stringify({repositories: Object.keys(tags)}))
    const list = /^\/v2\/(.+)\/tags\/list/.exec(url)
    if (list) return res.writeHead(200).end(JSON.stringify({name: list[1], tags: tags[list[1]] ?? []}))
    const m = /^\/v2\/(.+)\/manifests\/([^?]+)$/.exec(url)
    const answer = m && manifests ? manifests(m[1], decodeURIComponent(m[2])) : undefined
    if (!answer) return res.writeHead(404).end(JSON.stringify({errors: [{code: 'MANIFEST_UNKNOWN', message: 'no'}]}))
    res.writeHead(200, {
      'content-length': answer.body.length,
      'content-type': answer.mediaType,
      ...(answer.digest === undefined ? {} : {'docker-content-digest': answer.digest}),
    })
    res.end(req.method === 'HEAD' ? undefined : answer.body)
  })
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve)
  })
  const {port} = server.address() as AddressInfo
  return {
    requests,
    async stop() {
      server.closeAllConnections()
      await new Promise((resolve) => {
        server.close(resolve)
      })
    },
    url: `http://127.0.0.1:${port}`,
  }
}
