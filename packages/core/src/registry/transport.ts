/** The request core of the registry client: pooled agent, auth, concurrency gate, token bucket, retries. */
import type {Readable} from 'node:stream'
import type {Dispatcher} from 'undici'

import {setTimeout as sleep} from 'node:timers/promises'
import tls from 'node:tls'

import {warnTlsVerifyOff} from '../config/tls.js'
import {RegistryAuth} from './auth.js'
import {ANONYMOUS, type CredentialSource} from './credentials.js'
import {assertReference, assertRepository} from './digest.js'
import {
  DeletionDisabledError,
  ForbiddenError,
  NotFoundError,
  RegistryError,
  RegistryUnavailableError,
  type RequestSubject,
  UnauthorizedError,
} from './errors.js'
import {AdaptiveSemaphore, backoffMs, type BackoffOptions, retryAfterMs, TokenBucket} from './throttle.js'
import {Agent, request} from './undici-lite.js'

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

export interface ClientStats {
  byMethod: Record<string, number>
  requests: number
  retries: number
  throttled: number
  tokenRequests: number
}

type Access = 'catalog' | 'delete' | 'ping' | 'pull' | 'push'

export interface Call {
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

export interface Answer {
  body: Buffer
  headers: Record<string, string | string[] | undefined>
  status: number
  /** Only when asked for a stream and the status is 200: the body, unread. */
  stream?: NodeJS.ReadableStream
}

/** Retry counters of one call, across its attempts. */
interface Tries {
  attempt: number
  auth: number
  throttles: number
}

/** Turns `registry.url` into a base URL: an explicit scheme wins; without one, https unless registry.insecure. */
export function registryBaseUrl(url: string, insecure: boolean): string {
  const withScheme = /^https?:\/\//i.test(url) ? url : `${insecure ? 'http' : 'https'}://${url}`
  return withScheme.replace(/\/+$/, '')
}

export function header(h: Answer['headers'], name: string): string | undefined {
  const v = h[name]
  return Array.isArray(v) ? v[0] : v
}

async function drain(res: Dispatcher.ResponseData): Promise<Buffer> {
  await res.body.dump()
  return Buffer.alloc(0)
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

function clientError(subject: RequestSubject, status: number, body: Buffer): RegistryError {
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

export function subjectOf(c: Call): RequestSubject {
  return {method: c.method, reference: c.reference, repository: c.repository, url: c.path}
}

/**
 * One pooled undici Agent (keep-alive, at most `maxConcurrency` sockets per host). Every request passes the
 * concurrency gate and the token bucket; network errors and 5xx are retried with exponential backoff and jitter,
 * 429/503 honour Retry-After and shrink concurrency; other 4xx become typed errors.
 */
export class RegistryTransport {
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

  /** One call, retried as its status asks; `stream`: a 200 answer's body is handed over unread. */
  async call(c: Call, stream = false): Promise<Answer> {
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

  async close(): Promise<void> {
    await this.agent.close()
  }

  private async attempt(c: Call, stream: boolean): Promise<Answer> {
    const {signal} = this.opts
    const subject = subjectOf(c)
    const scopeKey = `${c.access}:${c.repository ?? ''}`
    const maxRetries = c.once ? 0 : this.opts.retry.maxRetries
    const url = /^https?:\/\//.test(c.path) ? c.path : `${this.baseUrl}${c.path}`
    const tries: Tries = {attempt: 0, auth: 0, throttles: 0}
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
        let res: Dispatcher.ResponseData
        try {
          // eslint-disable-next-line no-await-in-loop
          res = await this.send(url, c, authorization)
        } catch (error) {
          ok = false
          if (signal?.aborted) throw signal.reason
          // eslint-disable-next-line no-await-in-loop
          await this.retryLater(tries, maxRetries, () => {
            const text = `${(error as Error).message} (after ${tries.attempt + 1} attempts)`
            return new RegistryUnavailableError(subject, text, {cause: error})
          })
          continue
        }

        const status = res.statusCode
        if (stream && status === 200) return {body: Buffer.alloc(0), headers: res.headers, status, stream: res.body}

        // Always drain the body, so the socket goes back to the pool.
        // eslint-disable-next-line no-await-in-loop
        const body = c.method === 'HEAD' ? await drain(res) : Buffer.from(await res.body.arrayBuffer())
        if (c.expect.includes(status)) return {body, headers: res.headers, status}
        if (status === 401) {
          // eslint-disable-next-line no-await-in-loop
          await this.reauthorize(c, res, body, {authorization, scopeKey, tries})
          continue
        }

        if (status === 429 || status === 503) {
          ok = false
          // eslint-disable-next-line no-await-in-loop
          await this.throttled(c, res, tries, maxRetries)
          continue
        }

        if (status >= 500) {
          ok = false
          // eslint-disable-next-line no-await-in-loop
          await this.retryLater(tries, maxRetries, () => {
            const text = `HTTP ${status} ${registryErrorText(body).text} (after ${tries.attempt + 1} attempts)`
            return new RegistryUnavailableError(subject, text, {status})
          })
          continue
        }

        throw clientError(subject, status, body)
      } finally {
        this.gate.release(ok)
      }
    }
  }

  /**
   * A 401: asks the auth layer for fresh credentials; returns to retry once with them, else throws. A second 401 is
   * final (no retry storm on a wrong password).
   */
  private async reauthorize(
    c: Call,
    res: Dispatcher.ResponseData,
    body: Buffer,
    at: {authorization: string | undefined; scopeKey: string; tries: Tries},
  ): Promise<void> {
    const subject = subjectOf(c)
    let verdict: {detail?: string; retry: boolean}
    try {
      verdict = await this.auth.onUnauthorized(res.headers['www-authenticate'], at.scopeKey, Boolean(at.authorization))
    } catch (error) {
      if ((error as {authRefused?: boolean}).authRefused)
        throw new UnauthorizedError(subject, 401, (error as Error).message)
      throw new RegistryUnavailableError(subject, `token request failed: ${(error as Error).message}`, {cause: error})
    }

    if (!verdict.retry || at.tries.auth++ >= 1 || c.once) {
      throw new UnauthorizedError(subject, 401, verdict.detail ?? (registryErrorText(body).text || 'unauthorized'))
    }
  }

  /** Network error or 5xx: waits the backoff of this attempt, or throws `final()` when the retries are spent. */
  private async retryLater(tries: Tries, maxRetries: number, final: () => Error): Promise<void> {
    if (tries.attempt >= maxRetries) throw final()
    this.stats.retries++
    await sleep(backoffMs(tries.attempt++, this.opts.retry), undefined, {signal: this.opts.signal})
  }

  private send(url: string, c: Call, authorization: string | undefined): Promise<Dispatcher.ResponseData> {
    this.stats.requests++
    this.stats.byMethod[c.method] = (this.stats.byMethod[c.method] ?? 0) + 1
    return request(url, {
      body: c.body,
      dispatcher: this.agent,
      headers: {...c.headers, ...(authorization ? {authorization} : {})},
      method: c.method,
      // undici closes the socket after every HEAD unless told otherwise (a guard against servers that send a
      // body on HEAD; the distribution API does not), which cost a TCP connect per tag on warm scans.
      reset: c.method === 'HEAD' ? false : undefined,
      signal: this.opts.signal,
    })
  }

  /** 429/503: waits Retry-After (or the backoff) with less concurrency for everyone, or throws when over budget. */
  private async throttled(c: Call, res: Dispatcher.ResponseData, tries: Tries, maxRetries: number): Promise<void> {
    const wait = retryAfterMs(res.headers['retry-after'])
    // Honoured Retry-After answers get their own, larger budget: the registry told us when to come back.
    const budget = wait === undefined || c.once ? maxRetries : maxRetries + 10
    if (tries.throttles + tries.attempt >= budget) {
      const text = `HTTP ${res.statusCode} (throttled ${tries.throttles + 1} times)`
      throw new RegistryUnavailableError(subjectOf(c), text, {status: res.statusCode})
    }

    this.stats.throttled++
    this.gate.backOff()
    const ms = wait ?? backoffMs(tries.attempt, this.opts.retry)
    this.bucket.pause(ms)
    tries.throttles++
    await sleep(ms, undefined, {signal: this.opts.signal})
  }
}
