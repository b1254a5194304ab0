import type {AddressInfo} from 'node:net'

import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'

import {loadConfig} from '../../packages/core/src/config/load.js'
import {clientOptionsFromConfig, RegistryClient} from '../../packages/core/src/registry/client.js'
import {createS3Client} from '../../packages/core/src/services/s3.js'
import {type RegistryHandle, startRegistry} from '../support/registry.js'

const openssl = (args: string[]): void => {
  execFileSync('openssl', args, {stdio: 'pipe'})
}

/** A private CA and a server certificate for 127.0.0.1 signed by it (openssl, as the token-server does). */
function makeCa(dir: string): {ca: string; cert: string; key: string} {
  const f = (name: string) => path.join(dir, name)
  const ca = ['-keyout', f('ca.key'), '-out', f('ca.pem'), '-subj', '/CN=drc-test-private-ca']
  openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    ...ca,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
  ])
  openssl([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('server.key'),
    '-out',
    f('server.csr'),
    '-subj',
    '/CN=127.0.0.1',
  ])
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n')
  const sign = ['-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-extfile', f('ext.cnf')]
  openssl(['x509', '-req', '-in', f('server.csr'), '-out', f('server.pem'), '-days', '2', ...sign])
  return {ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key')}
}

async function captureStderr<T>(fn: () => Promise<T>): Promise<{result: T; stderr: string}> {
  const original = process.stderr.write.bind(process.stderr)
  let stderr = ''
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk)
    return true
  }) as typeof process.stderr.write
  try {
    return {result: await fn(), stderr}
  } finally {
    process.stderr.write = original
  }
}

describe('TLS to a registry (and S3) signed by a private CA', () => {
  let dir: string
  let pki: ReturnType<typeof makeCa>
  let reg: RegistryHandle

  before(async function () {
    this.timeout(60_000)
    dir = mkdtempSync(path.join(os.tmpdir(), 'drc-tls-'))
    pki = makeCa(dir)
    reg = await startRegistry({tls: {certificate: pki.cert, key: pki.key}})
  })

  after(async () => {
    await reg?.stop()
    rmSync(dir, {force: true, recursive: true})
  })

  async function clientFor(env: Record<string, string>): Promise<RegistryClient> {
    const loaded = await loadConfig({cwd: dir, env: {REGISTRY_URL: reg.url, ...env}})
    expect(loaded.errors).to.deep.equal([])
    const options = clientOptionsFromConfig(loaded.config)
    return new RegistryClient({...options, retry: {...options.retry, initialDelay: 0.01, maxRetries: 0}})
  }

  it('refuses the private CA by default', async () => {
    const client = await clientFor({})
    const error = await client.ping().catch((error_: unknown) => error_ as Error)
    await client.close()
    expect(error).to.be.instanceOf(Error)
    expect((error as Error).message).to.match(/certificate/i)
  })

  it('accepts it with registry.ca_file (DRC_REGISTRY_CA_FILE), and warns about nothing', async () => {
    const {result, stderr} = await captureStderr(async () => {
      const client = await clientFor({DRC_REGISTRY_CA_FILE: pki.ca})
      await client.ping()
      const tags = await client.listTags('acme/environment').catch((error: Error) => error.name)
      await client.close()
      return tags
    })
    expect(result).to.equal('NotFoundError')
    expect(stderr).to.equal('')
  })

  it('accepts any certificate with registry.tls_verify false, with a loud warning on stderr', async () => {
    const {stderr} = await captureStderr(async () => {
      const client = await clientFor({DRC_REGISTRY_TLS_VERIFY: 'false'})
      await client.ping()
      await client.close()
    })
    expect(stderr).to.match(/^WARNING: registry\.tls_verify is false/)
    expect(stderr).to.include(reg.url).and.include('NOT verified')
  })

  it('refuses a CA file that does not exist or holds no certificate, naming the key (exit 2 at load)', async () => {
    const notPem = path.join(dir, 'ext.cnf')
    for (const [env, text] of [
      [{DRC_REGISTRY_CA_FILE: path.join(dir, 'missing.pem')}, 'registry.ca_file: cannot read'],
      [{DRC_S3_CA_FILE: notPem}, `s3.ca_file: ${notPem} holds no PEM certificate`],
    ] as const) {
      // eslint-disable-next-line no-await-in-loop
      const {errors} = await loadConfig({cwd: dir, env})
      expect(errors.map((e) => `${e.path}: ${e.message}`)[0]).to.include(text)
    }
  })

  it('S3: an endpoint signed by the private CA is refused by default and reached with s3.ca_file', async () => {
    let requests = 0
    const server = https.createServer({cert: readFileSync(pki.cert), key: readFileSync(pki.key)}, (_req, res) => {
      requests++
      res.writeHead(200, {'content-type': 'application/xml'}).end()
    })
    await new Promise<void>((resolve) => {
      server.listen(0, '127.0.0.1', resolve)
    })
    const endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
    const env = {AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y'}
    const {HeadBucketCommand} = await import('@aws-sdk/client-s3')
    try {
      const base = {bucket: 'drc-tls', endpoint, prefix: 'p', region: 'us-east-1'}
      const plain = await createS3Client({s3: {...base, ca_file: null}}, {env})
      const refused = await plain.send(new HeadBucketCommand({Bucket: 'drc-tls'})).catch((error: Error) => error)
      plain.destroy()
      expect(String((refused as Error).message)).to.match(/certificate/i)
      expect(requests).to.equal(0)

      const trusted = await createS3Client({s3: {...base, ca_file: pki.ca}}, {env})
      await trusted.send(new HeadBucketCommand({Bucket: 'drc-tls'}))
      trusted.destroy()
      expect(requests).to.equal(1)
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })
})
