/**
 * A small Docker-style token server (the protocol of Docker Hub's auth.docker.io): `GET /token?service=…&scope=…`
 * with Basic credentials answers `{token, access_token, expires_in, issued_at}`, where the token is an RS256 JWT whose
 * header carries the signing certificate (`x5c`). The real registry verifies it against `rootcertbundle`, so
 * registry token auth is exercised for real, only the identity provider is ours.
 */
import {execFile} from 'node:child_process'
import {createPrivateKey, randomUUID, sign, X509Certificate} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'

import {freePort} from './ports.js'

const execFileAsync = promisify(execFile)

export interface TokenServer {
  /** PEM file for the registry's `auth.token.rootcertbundle`. */
  certPath: string
  issuer: string
  realm: string
  /** Token requests received (including refused ones). */
  requests: number
  service: string
  stop(): Promise<void>
  /** Lifetime of issued tokens, seconds (change it to test expiry). */
  ttlSeconds: number
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url')

export async function startTokenServer(
  users: Record<string, string>,
  opts: {service?: string; ttlSeconds?: number} = {},
): Promise<TokenServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'drc-token-'))
  const keyPath = path.join(dir, 'key.pem')
  const certPath = path.join(dir, 'cert.pem')
  await execFileAsync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    '2',
    '-subj',
    '/CN=drc-test-token-issuer',
  ])
  const key = createPrivateKey(readFileSync(keyPath))
  const certDer = new X509Certificate(readFileSync(certPath)).raw
  const port = await freePort()
  const issuer = 'drc-test-issuer'
  const service = opts.service ?? 'drc-test-registry'

  const state: TokenServer = {
    certPath,
    issuer,
    realm: `http://127.0.0.1:${port}/token`,
    requests: 0,
    service,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      rmSync(dir, {force: true, recursive: true})
    },
    ttlSeconds: opts.ttlSeconds ?? 300,
  }

  const server = http.createServer((req, res) => {
    state.requests++
    const url = new URL(req.url ?? '/', state.realm)
    const auth = req.headers.authorization ?? ''
    const [user, pass] = auth.startsWith('Basic ')
      ? Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':')
      : []
    if (url.pathname !== '/token' || !user || users[user] !== pass) {
      res
        .writeHead(401, {'content-type': 'application/json'})
        .end(JSON.stringify({details: 'incorrect username or password'}))
      return
    }

    // scope = repository:<name>:<actions>; names may contain ':'-free slashes, actions are comma-separated.
    const access = url.searchParams.getAll('scope').map((s) => {
      const parts = s.split(':')
      return {actions: parts.at(-1)!.split(','), name: parts.slice(1, -1).join(':'), type: parts[0]}
    })
    const now = Math.floor(Date.now() / 1000)
    const header = {alg: 'RS256', typ: 'JWT', x5c: [certDer.toString('base64')]}
    const claims = {
      access,
      aud: url.searchParams.get('service') ?? service,
      exp: now + state.ttlSeconds,
      iat: now,
      iss: issuer,
      jti: randomUUID(),
      nbf: now - 5,
      sub: user,
    }
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`
    const token = `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`
    res
      .writeHead(200, {'content-type': 'application/json'})
      .end(
        JSON.stringify({access_token: token, expires_in: state.ttlSeconds, issued_at: new Date().toISOString(), token}),
      )
  })
  await new Promise<void>((resolve) => {
    server.listen(port, '127.0.0.1', resolve)
  })
  return state
}
