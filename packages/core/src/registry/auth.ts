import type {CredentialSource, RegistryCredentials} from './credentials.js'

export interface Challenge {
  params: Record<string, string>
  scheme: string
}

/** Parses `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` (quoted values may contain commas). */
export function parseChallenge(header: string | string[] | undefined): Challenge | null {
  const v = Array.isArray(header) ? header[0] : header
  if (!v) return null
  const m = /^\s*(\w+)\s*(.*)$/s.exec(v)
  if (!m) return null
  const params: Record<string, string> = {}
  for (const p of m[2].matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    params[p[1].toLowerCase()] = p[2] === undefined ? p[3] : p[2].replaceAll(/\\(.)/g, '$1')
  }

  return {params, scheme: m[1].toLowerCase()}
}

function basic(c: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`
}

interface CachedToken {
  expiresAt: number
  value: string
}

export type TokenFetcher = (url: URL, headers: Record<string, string>) => Promise<{body: string; statusCode: number}>

/**
 * Registry authentication state for one registry: learns the scheme from the first challenge, then sends
 * credentials up front. Bearer tokens are cached per scope key (one per repository and access kind) and
 * re-fetched once when the registry answers 401 to a cached token.
 */
export class RegistryAuth {
  private bearer: null | {realm: string; service?: string} = null
  private creds: null | RegistryCredentials | undefined
  private scheme: 'basic' | 'bearer' | 'none' = 'none'
  private readonly tokens = new Map<string, CachedToken>()

  constructor(
    private readonly source: CredentialSource,
    private readonly fetchToken: TokenFetcher,
  ) {}

  get describe(): string {
    return this.source.describe
  }

  /** The Authorization header for a request in `scopeKey`, if one is known. */
  async header(scopeKey: string): Promise<string | undefined> {
    if (this.scheme === 'basic') {
      const c = await this.credentials()
      return c ? basic(c) : undefined
    }

    if (this.scheme === 'bearer') {
      const t = this.tokens.get(scopeKey)
      if (t && t.expiresAt > Date.now()) return `Bearer ${t.value}`
    }

    return undefined
  }

  /**
   * Reacts to a 401. Returns true when a retry with new credentials makes sense; `sentAuth` says whether the
   * failed request carried an Authorization header (then cached credentials are refreshed, once per request).
   */
  async onUnauthorized(
    header: string | string[] | undefined,
    scopeKey: string,
    sentAuth: boolean,
  ): Promise<{detail?: string; retry: boolean}> {
    const ch = parseChallenge(header)
    if (ch?.scheme === 'basic') {
      this.scheme = 'basic'
      if (sentAuth) {
        if (!this.source.refresh) return {detail: 'wrong user name or password', retry: false}
        this.creds = await this.source.refresh()
      }

      return (await this.credentials()) ? {retry: true} : {detail: 'no credentials configured', retry: false}
    }

    if (ch?.scheme === 'bearer' && ch.params.realm) {
      this.scheme = 'bearer'
      this.bearer = {realm: ch.params.realm, service: ch.params.service}
      if (sentAuth && this.source.refresh) this.creds = await this.source.refresh()
      const token = await this.requestToken(ch.params.scope)
      this.tokens.set(scopeKey, token)
      return {retry: true}
    }

    return {detail: `unsupported challenge ${JSON.stringify(header ?? '')}`, retry: false}
  }

  private async credentials(): Promise<null | RegistryCredentials> {
    if (this.creds === undefined) this.creds = await this.source.get()
    return this.creds
  }

  private async requestToken(scope: string | undefined): Promise<CachedToken> {
    const url = new URL(this.bearer!.realm)
    if (this.bearer!.service) url.searchParams.set('service', this.bearer!.service)
    // A challenge may ask for several scopes separated by spaces; the token endpoint takes one param each.
    for (const s of scope?.split(' ').filter(Boolean) ?? []) url.searchParams.append('scope', s)
    const c = await this.credentials()
    const res = await this.fetchToken(url, c ? {authorization: basic(c)} : {})
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw Object.assign(new Error(`token server ${url.origin} refused the credentials (HTTP ${res.statusCode})`), {
        authRefused: true,
      })
    }

    if (res.statusCode >= 300) throw new Error(`token server ${url.origin} answered HTTP ${res.statusCode}`)
    const json = JSON.parse(res.body) as {access_token?: string; expires_in?: number; token?: string}
    const value = json.token ?? json.access_token
    if (!value) throw new Error(`token server ${url.origin} returned no token`)
    // Docker's token spec: 60 s when expires_in is absent; renew 10 s early.
    return {expiresAt: Date.now() + ((json.expires_in ?? 60) - 10) * 1000, value}
  }
}
