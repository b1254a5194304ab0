import type {Readable} from 'node:stream'

import {setTimeout as sleep} from 'node:timers/promises'
import tls from 'node:tls'
import {Agent, type Dispatcher, request} from 'undici'

import type {DrcConfig} from '../config/types.js'

import {readCaFile, warnTlsVerifyOff} from '../config/tls.js'
import {RegistryAuth} from './auth.js'
import {ANONYMOUS, type CredentialSource} from './credentials.js'
import {
  actualDigest,
  assertDigest,
  assertReference,
  assertRepository,
  assertTag,
  hashOf,
  InvalidReferenceError,
  parseDigest,
} from './digest.js'
import {
  DeletionDisabledError,
  DigestMismatchError,
  ForbiddenError,
  NotFoundError,
  RegistryError,
  RegistryUnavailableError,
  type RequestSubject,
  UnauthorizedError,
} from './errors.js'
import {MANIFEST_ACCEPT, type ParsedManifest, parseManifest} from './media-types.js'
import {AdaptiveSemaphore, backoffMs, type BackoffOptions, retryAfterMs, TokenBucket} from './throttle.js'

export interface RegistryClientOptions {
  credentials?: CredentialSource
  /** Requests in flight at once (analysis.max_workers). */
  maxConcurrency: number
  /** null: no token bucket. */
  rateLimit: null | {burst: number; requestsPerSecond: number}
  retry: BackoffOptions & {maxRetries: number; timeoutMs: number}
  /**
   * Aborts every request in flight and every later one (e.g. the analysis stall timeout); calls then reject with
   * `signal.reason` rather than a network error, and nothing is retried.
   */
  signal?: AbortSignal
  /** TLS of an https registry: extra CA (PEM) and whether the certificate is verified at all (default true). */
  tls?: {ca?: string; verify: boolean}
  /** Registry base URL with scheme, e.g. `https://registry.example.com` or `http://127.0.0.1:5000`. */
  url: string
}

export interface ManifestHead {
  digest: string
  mediaType: string
  size: number
}

export interface ManifestResult extends ManifestHead {
  body: Buffer
  manifest: ParsedManifest
}

export interface ClientStats {
  byMethod: Record<string, number>
  requests: number
  retries: number
  throttled: number
  tokenRequests: number
}

type Access = 'catalog' | 'delete' | 'ping' | 'pull' | 'push'

interface Call {
  access: Access
  body?: Buffer | Readable | string
  /** Statuses that are answers, not errors (e.g. 404 on a blob HEAD). */
  expect: number[]
  headers?: Record<string, string>
  method: Dispatcher.HttpMethod
  /** The body is a stream that cannot be sent twice: no retry of any kind. */
  once?: boolean
  /** Path below the origin, or an absolute URL (upload locations). */
  path: string
  reference?: string
  repository?: string
}

interface Answer {
  body: Buffer
  headers: Record<string, string | string[] | undefined>
  status: number
}

/** Turns `registry.url` into a base URL: an explicit scheme wins; without one, https unless registry.insecure. */
export function registryBaseUrl(url: string, insecure: boolean): string {
  const withScheme = /^https?:\/\//i.test(url) ? url : `${insecure ? 'http' : 'https'}://${url}`
  return withScheme.replace(/\/+$/, '')
}

export function clientOptionsFromConfig(config: DrcConfig, credentials?: CredentialSource): RegistryClientOptions {
  return {
    credentials,
    maxConcurrency: config.analysis.max_workers,
    rateLimit: config.rate_limit.enabled
      ? {burst: config.rate_limit.burst_size, requestsPerSecond: config.rate_limit.requests_per_second}
      : null,
    retry: {
      exponentialBase: config.retry.exponential_base,
      initialDelay: config.retry.initial_delay,
      jitter: config.retry.jitter,
      maxDelay: config.retry.max_delay,
      maxRetries: config.retry.max_retries,
      timeoutMs: config.retry.timeout * 1000,
    },
    tls: {
      ca: config.registry.ca_file ? readCaFile(config.registry.ca_file, 'registry.ca_file') : undefined,
      verify: config.registry.tls_verify,
    },
    url: registryBaseUrl(config.registry.url, config.registry.insecure),
  }
}

async function drain(res: Dispatcher.ResponseData): Promise<Buffer> {
  await res.body.dump()
  return Buffer.alloc(0)
}

function header(h: Answer['headers'], name: string): string | undefined {
  const v = h[name]
  return Array.isArray(v) ? v[0] : v
}

/** The registry's error envelope `{errors: [{code, message}]}` → first code and a readable text. */
function registryErrorText(body: Buffer): {code?: string; text: string} {
  try {
    const json = JSON.parse(body.toString('utf8')) as {errors?: Array<{code?: string; message?: string}>}
    const e = json.errors?.[0]
    if (e) return {code: e.code, text: `${e.code ?? ''} ${e.message ?? ''}`.trim()}
  } catch {
    // not JSON: fall through
  }

  return {text: body.toString('utf8').slice(0, 200).trim()}
}

/** `</v2/_catalog?last=x&n=100>; rel="next"` → the next path, or undefined. */
export function nextLink(link: string | undefined): string | undefined {
  const m = link ? /<([^>]+)>\s*;\s*rel="?next"?/i.exec(link) : null
  return m?.[1]
}

export function sha256Digest(data: Buffer | string): string {
  return hashOf(data, 'sha256')
}

/** Checks `body` against a digest (validated first, `source` names where it came from); no algorithm is skipped. */
function verifyDigest(body: Buffer, expected: string, source: string, subject: RequestSubject): string {
  const digest = parseDigest(expected, source)
  const actual = actualDigest(body, digest)
  if (actual !== digest.value) throw new DigestMismatchError(subject, expected, actual)
  return digest.value
}

function what(repository: string, reference: string): string {
  return `${repository}${reference.includes(':') ? '@' : ':'}${reference}`
}

/**
 * OCI distribution client over one pooled undici Agent (keep-alive, at most `maxConcurrency` sockets per host).
 * Every request passes the concurrency gate and the token bucket; network errors and 5xx are retried with
 * exponential backoff and jitter, 429/503 honour Retry-After and shrink concurrency; other 4xx become typed errors.
 */
export class RegistryClient {
  readonly baseUrl: string
  readonly stats: ClientStats = {byMethod: {}, requests: 0, retries: 0, throttled: 0, tokenRequests: 0}
  private readonly agent: Agent
  private readonly auth: RegistryAuth
  private readonly bucket: TokenBucket
  private readonly gate: AdaptiveSemaphore

  constructor(private readonly opts: RegistryClientOptions) {
    this.baseUrl = registryBaseUrl(opts.url, false)
    const verify = opts.tls?.verify ?? true
    if (!verify && this.baseUrl.startsWith('https:')) warnTlsVerifyOff(this.baseUrl)
    this.agent = new Agent({
      bodyTimeout: opts.retry.timeoutMs,
      // A private CA is added to Node's system CAs (not instead of them), for this registry only.
      connect: {
        ...(opts.tls?.ca ? {ca: [...tls.rootCertificates, opts.tls.ca]} : {}),
        rejectUnauthorized: verify,
      },
      connections: opts.maxConcurrency,
      headersTimeout: opts.retry.timeoutMs,
      keepAliveTimeout: 30_000,
    })
    // Without a configured rate the bucket is unlimited but still carries Retry-After pauses to every caller.
    this.bucket = opts.rateLimit
      ? new TokenBucket(opts.rateLimit.requestsPerSecond, opts.rateLimit.burst)
      : new TokenBucket(Number.POSITIVE_INFINITY, 1)
    this.gate = new AdaptiveSemaphore(opts.maxConcurrency)
    this.auth = new RegistryAuth(opts.credentials ?? ANONYMOUS, async (url, headers) => {
      this.stats.tokenRequests++
      const res = await request(url, {dispatcher: this.agent, headers, method: 'GET', signal: opts.signal})
      return {body: await res.body.text(), statusCode: res.statusCode}
    })
  }

  /** Catalog of repositories, following `Link` pagination. */
  async catalog(pageSize = 1000): Promise<string[]> {
    const out: string[] = []
    let path: string | undefined = `/v2/_catalog?n=${pageSize}`
    while (path) {
      // eslint-disable-next-line no-await-in-loop
      const res = await this.call({access: 'catalog', expect: [200], method: 'GET', path})
      const page = (JSON.parse(res.body.toString('utf8')) as {repositories?: unknown[]}).repositories ?? []
      for (const r of page) out.push(assertRepository(r, `catalog of ${this.baseUrl}`))
      path = nextLink(header(res.headers, 'link'))
    }

    return out
  }

  async close(): Promise<void> {
    await this.agent.close()
  }

  /** Deletes a manifest by digest (every tag on it disappears: plan at the digest level, pitfall P1). */
  async deleteManifest(repository: string, digest: string): Promise<void> {
    if (!digest.includes(':')) {
      throw new RegistryError(`refusing to delete ${repository}:${digest} by tag; resolve it to a digest first`, {
        method: 'DELETE',
        reference: digest,
        repository,
        url: this.baseUrl,
      })
    }

    assertDigest(digest, `digest to delete in ${repository}`)

    await this.call({
      access: 'delete',
      expect: [202],
      method: 'DELETE',
      path: `/v2/${repository}/manifests/${digest}`,
      reference: digest,
      repository,
    })
  }

  /** Blob as a stream; the caller must consume or destroy it. */
  async getBlob(repository: string, digest: string): Promise<{size: number; stream: NodeJS.ReadableStream}> {
    assertDigest(digest, `blob to read from ${repository}`)
    const res = await this.call(
      {
        access: 'pull',
        expect: [200],
        method: 'GET',
        path: `/v2/${repository}/blobs/${digest}`,
        reference: digest,
        repository,
      },
      true,
    )
    return {size: Number(header(res.headers, 'content-length') ?? -1), stream: res.stream!}
  }

  async getManifest(repository: string, reference: string): Promise<ManifestResult> {
    const call: Call = {
      access: 'pull',
      expect: [200],
      headers: {accept: MANIFEST_ACCEPT},
      method: 'GET',
      path: `/v2/${repository}/manifests/${reference}`,
      reference,
      repository,
    }
    const res = await this.call(call)
    const subject = this.subject(call)
    const ref = what(repository, reference)
    const claimed = header(res.headers, 'docker-content-digest')
    if (reference.includes(':')) verifyDigest(res.body, reference, `digest requested for ${ref}`, subject)
    // A registry header is outside input: validated (grammar, allowed algorithm) and verified before any use.
    const checked =
      claimed === undefined
        ? undefined
        : verifyDigest(res.body, claimed, `Docker-Content-Digest of GET ${ref} (${this.baseUrl})`, subject)
    const digest = reference.includes(':') ? reference : (checked ?? sha256Digest(res.body))
    const mediaType = header(res.headers, 'content-type') ?? ''
    let manifest: ParsedManifest
    try {
      manifest = parseManifest(res.body, mediaType, `manifest of ${ref} (${this.baseUrl})`)
    } catch (error) {
      if (error instanceof InvalidReferenceError) throw error
      throw new RegistryError((error as Error).message, subject, {cause: error})
    }

    return {body: res.body, digest, manifest, mediaType: manifest.mediaType, size: res.body.length}
  }

  /** Size of a blob, or null when the repository does not have it. */
  async headBlob(repository: string, digest: string): Promise<null | number> {
    assertDigest(digest, `blob to look up in ${repository}`)
    const res = await this.call({
      access: 'pull',
      expect: [200, 404],
      method: 'HEAD',
      path: `/v2/${repository}/blobs/${digest}`,
      reference: digest,
      repository,
    })
    return res.status === 404 ? null : Number(header(res.headers, 'content-length') ?? 0)
  }

  async headManifest(repository: string, reference: string): Promise<ManifestHead> {
    const call: Call = {
      access: 'pull',
      expect: [200],
      headers: {accept: MANIFEST_ACCEPT},
      method: 'HEAD',
      path: `/v2/${repository}/manifests/${reference}`,
      reference,
      repository,
    }
    const res = await this.call(call)
    const claimed = header(res.headers, 'docker-content-digest')
    if (claimed !== undefined)
      assertDigest(claimed, `Docker-Content-Digest of HEAD ${what(repository, reference)} (${this.baseUrl})`)
    if (claimed !== undefined && reference.includes(':') && claimed !== reference) {
      throw new DigestMismatchError(this.subject(call), reference, claimed)
    }

    const digest = claimed ?? (reference.includes(':') ? reference : undefined)
    if (!digest) {
      throw new RegistryError(
        `registry gave no Docker-Content-Digest for ${repository}:${reference}`,
        this.subject(call),
        {
          suggestions: ['the registry or a proxy strips the header; drc needs it to plan at the digest level'],
        },
      )
    }

    return {
      digest,
      mediaType: header(res.headers, 'content-type') ?? '',
      size: Number(header(res.headers, 'content-length') ?? 0),
    }
  }

  /** Tags of a repository, following `Link` pagination when the registry paginates, sorted (2.8 does not sort). */
  async listTags(repository: string, pageSize?: number): Promise<string[]> {
    const out: string[] = []
    let path: string | undefined = `/v2/${repository}/tags/list${pageSize ? `?n=${pageSize}` : ''}`
    while (path) {
      // eslint-disable-next-line no-await-in-loop
      const res = await this.call({access: 'pull', expect: [200], method: 'GET', path, repository})
      const page = (JSON.parse(res.body.toString('utf8')) as {tags?: null | unknown[]}).tags ?? []
      // Tags go into request paths: a tag list entry with '/' or '..' is refused, never requested.
      for (const t of page) out.push(assertTag(t, `tag list of ${repository} (${this.baseUrl})`))
      path = nextLink(header(res.headers, 'link'))
    }

    return [...new Set(out)].sort()
  }

  /** Checks that `/v2/` answers (and that the credentials are accepted). */
  async ping(): Promise<void> {
    await this.call({access: 'ping', expect: [200], method: 'GET', path: '/v2/'})
  }

  async putManifest(repository: string, reference: string, body: Buffer, mediaType: string): Promise<string> {
    const res = await this.call({
      access: 'push',
      body,
      expect: [201],
      headers: {'content-type': mediaType},
      method: 'PUT',
      path: `/v2/${repository}/manifests/${reference}`,
      reference,
      repository,
    })
    const claimed = header(res.headers, 'docker-content-digest')
    return claimed === undefined
      ? sha256Digest(body)
      : assertDigest(claimed, `Docker-Content-Digest of PUT ${what(repository, reference)} (${this.baseUrl})`)
  }

  /**
   * Uploads a blob (POST then PUT ?digest=; 2.8 has no single-request upload). With `mountFrom`, first asks
   * for a cross-repository mount; when the registry mounts it (201) no bytes are sent.
   * Returns 'mounted' or 'uploaded'.
   */
  async uploadBlob(
    repository: string,
    digest: string,
    data: Buffer,
    mountFrom?: string,
  ): Promise<'mounted' | 'uploaded'> {
    assertDigest(digest, `blob to upload to ${repository}`)
    const query = mountFrom ? `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(mountFrom)}` : ''
    const start = await this.call({
      access: 'push',
      expect: [201, 202],
      method: 'POST',
      path: `/v2/${repository}/blobs/uploads/${query}`,
      reference: digest,
      repository,
    })
    if (start.status === 201) return 'mounted'
    const location = header(start.headers, 'location')
    if (!location)
      throw new RegistryError(`registry gave no upload Location for ${repository}`, {
        method: 'POST',
        repository,
        url: this.baseUrl,
      })
    const target = new URL(location, this.baseUrl)
    target.searchParams.set('digest', digest)
    await this.call({
      access: 'push',
      body: data,
      expect: [201],
      headers: {'content-type': 'application/octet-stream'},
      method: 'PUT',
      path: target.toString(),
      reference: digest,
      repository,
    })
    return 'uploaded'
  }

  /**
   * Uploads a blob from a stream of exactly `size` bytes: POST opens the upload, one PUT streams the body with
   * Content-Length and `?digest=` (distribution 2.8 has no monolithic POST). The stream is read once, so nothing
   * is retried; on any failure the open upload is cancelled (DELETE), so the registry never commits partial data.
   */
  async uploadBlobStream(repository: string, digest: string, size: number, body: Readable): Promise<void> {
    assertDigest(digest, `blob to upload to ${repository}`)
    const start = await this.call({
      access: 'push',
      expect: [202],
      method: 'POST',
      path: `/v2/${repository}/blobs/uploads/`,
      reference: digest,
      repository,
    })
    const location = header(start.headers, 'location')
    if (!location)
      throw new RegistryError(`registry gave no upload Location for ${repository}`, {
        method: 'POST',
        repository,
        url: this.baseUrl,
      })
    const target = new URL(location, this.baseUrl)
    target.searchParams.set('digest', digest)
    try {
      await this.call({
        access: 'push',
        body,
        expect: [201],
        headers: {'content-length': String(size), 'content-type': 'application/octet-stream'},
        method: 'PUT',
        once: true,
        path: target.toString(),
        reference: digest,
        repository,
      })
    } catch (error) {
      body.destroy()
      const cancel = new URL(location, this.baseUrl).toString()
      await this.call({access: 'push', expect: [204, 404], method: 'DELETE', path: cancel, repository}).catch(() => {})
      throw error
    }
  }

  private async attempt(c: Call, stream: boolean): Promise<Answer & {stream?: NodeJS.ReadableStream}> {
    const {signal} = this.opts
    const subject = this.subject(c)
    const scopeKey = `${c.access}:${c.repository ?? ''}`
    const maxRetries = c.once ? 0 : this.opts.retry.maxRetries
    const url = /^https?:\/\//.test(c.path) ? c.path : `${this.baseUrl}${c.path}`
    let attempt = 0
    let throttles = 0
    let authTries = 0
    for (;;) {
      signal?.throwIfAborted()
      // eslint-disable-next-line no-await-in-loop
      const authorization = await this.auth.header(scopeKey)
      // eslint-disable-next-line no-await-in-loop
      await this.gate.acquire()
      let ok = true
      try {
        // eslint-disable-next-line no-await-in-loop
        await this.bucket.acquire()
        signal?.throwIfAborted()
        this.stats.requests++
        this.stats.byMethod[c.method] = (this.stats.byMethod[c.method] ?? 0) + 1
        let res: Dispatcher.ResponseData
        try {
          // eslint-disable-next-line no-await-in-loop
          res = await request(url, {
            body: c.body,
            dispatcher: this.agent,
            headers: {...c.headers, ...(authorization ? {authorization} : {})},
            method: c.method,
            // undici closes the socket after every HEAD unless told otherwise (a guard against servers that send a
            // body on HEAD; the distribution API does not), which cost a TCP connect per tag on warm scans.
            reset: c.method === 'HEAD' ? false : undefined,
            signal,
          })
        } catch (error) {
          ok = false
          if (signal?.aborted) throw signal.reason
          if (attempt >= maxRetries) {
            throw new RegistryUnavailableError(subject, `${(error as Error).message} (after ${attempt + 1} attempts)`, {
              cause: error,
            })
          }

          this.stats.retries++
          // eslint-disable-next-line no-await-in-loop
          await sleep(backoffMs(attempt++, this.opts.retry), undefined, {signal})
          continue
        }

        const status = res.statusCode
        if (stream && status === 200) return {body: Buffer.alloc(0), headers: res.headers, status, stream: res.body}

        // Always drain the body, so the socket goes back to the pool.
        // eslint-disable-next-line no-await-in-loop
        const body = c.method === 'HEAD' ? await drain(res) : Buffer.from(await res.body.arrayBuffer())
        if (c.expect.includes(status)) return {body, headers: res.headers, status}
        if (status === 401) {
          let verdict: {detail?: string; retry: boolean}
          try {
            // eslint-disable-next-line no-await-in-loop
            verdict = await this.auth.onUnauthorized(res.headers['www-authenticate'], scopeKey, Boolean(authorization))
          } catch (error) {
            if ((error as {authRefused?: boolean}).authRefused)
              throw new UnauthorizedError(subject, 401, (error as Error).message)
            throw new RegistryUnavailableError(subject, `token request failed: ${(error as Error).message}`, {
              cause: error,
            })
          }

          // One retry with fresh credentials; a second 401 is final (no retry storm on a wrong password).
          if (!verdict.retry || authTries++ >= 1 || c.once) {
            throw new UnauthorizedError(
              subject,
              401,
              verdict.detail ?? (registryErrorText(body).text || 'unauthorized'),
            )
          }

          continue
        }

        if (status === 429 || status === 503) {
          ok = false
          const wait = retryAfterMs(res.headers['retry-after'])
          // Honoured Retry-After answers get their own, larger budget: the registry told us when to come back.
          const budget = wait === undefined || c.once ? maxRetries : maxRetries + 10
          if (throttles + attempt >= budget) {
            throw new RegistryUnavailableError(subject, `HTTP ${status} (throttled ${throttles + 1} times)`, {status})
          }

          this.stats.throttled++
          this.gate.backOff()
          const ms = wait ?? backoffMs(attempt, this.opts.retry)
          this.bucket.pause(ms)
          throttles++
          // eslint-disable-next-line no-await-in-loop
          await sleep(ms, undefined, {signal})
          continue
        }

        if (status >= 500) {
          ok = false
          if (attempt >= maxRetries) {
            throw new RegistryUnavailableError(
              subject,
              `HTTP ${status} ${registryErrorText(body).text} (after ${attempt + 1} attempts)`,
              {status},
            )
          }

          this.stats.retries++
          // eslint-disable-next-line no-await-in-loop
          await sleep(backoffMs(attempt++, this.opts.retry), undefined, {signal})
          continue
        }

        throw this.clientError(subject, status, body)
      } finally {
        this.gate.release(ok)
      }
    }
  }

  private async call(c: Call, stream = false): Promise<Answer & {stream?: NodeJS.ReadableStream}> {
    const {signal} = this.opts
    // Last line of defence: no repository or reference reaches a URL unchecked, whoever the caller is.
    if (c.repository !== undefined) assertRepository(c.repository, `repository of ${c.method} ${c.path}`)
    if (c.reference !== undefined) assertReference(c.reference, `reference of ${c.method} ${c.repository ?? ''}`)
    try {
      return await this.attempt(c, stream)
    } catch (error) {
      // An aborted request surfaces as a network error (or an AbortError from a backoff sleep): report why instead.
      if (signal?.aborted) throw signal.reason
      throw error
    }
  }

  private clientError(subject: RequestSubject, status: number, body: Buffer): RegistryError {
    const {code, text} = registryErrorText(body)
    if (status === 404) return new NotFoundError(subject, code)
    if (status === 403) return new ForbiddenError(subject, text)
    if (status === 405 && (code === 'UNSUPPORTED' || subject.method === 'DELETE'))
      return new DeletionDisabledError(subject)
    return new RegistryError(`registry rejected ${subject.method} ${subject.url} (HTTP ${status}): ${text}`, subject, {
      code,
      status,
    })
  }

  private subject(c: Call): RequestSubject {
    return {method: c.method, reference: c.reference, repository: c.repository, url: c.path}
  }
}
