/** Listing requests: the catalog of repositories and a repository's tags, both paginated by `Link`. */
import {assertRepository, assertTag} from './digest.js'
import {type Call, header, type RegistryTransport} from './transport.js'

/** `</v2/_catalog?last=x&n=100>; rel="next"` → the next path, or undefined. */
export function nextLink(link: string | undefined): string | undefined {
  const m = link ? /<([^>]+)>\s*;\s*rel="?next"?/i.exec(link) : null
  return m?.[1]
}

/** Follows `Link: <…>; rel="next"` from `first`, collecting what `entries` reads (and checks) from each page. */
async function pages(
  t: RegistryTransport,
  first: string,
  call: (path: string) => Call,
  entries: (body: Buffer) => string[],
): Promise<string[]> {
  const out: string[] = []
  let path: string | undefined = first
  while (path) {
    // eslint-disable-next-line no-await-in-loop
    const res = await t.call(call(path))
    for (const entry of entries(res.body)) out.push(entry)
    path = nextLink(header(res.headers, 'link'))
  }

  return out
}

/** Catalog of repositories, following `Link` pagination. */
export function catalog(t: RegistryTransport, pageSize: number): Promise<string[]> {
  return pages(
    t,
    `/v2/_catalog?n=${pageSize}`,
    (path) => ({access: 'catalog', expect: [200], method: 'GET', path}),
    (body) => {
      const page = (JSON.parse(body.toString('utf8')) as {repositories?: unknown[]}).repositories ?? []
      return page.map((r) => assertRepository(r, `catalog of ${t.baseUrl}`))
    },
  )
}

/** Tags of a repository, following `Link` pagination when the registry paginates, sorted (2.8 does not sort). */
export async function listTags(t: RegistryTransport, repository: string, pageSize?: number): Promise<string[]> {
  const out = await pages(
    t,
    `/v2/${repository}/tags/list${pageSize ? `?n=${pageSize}` : ''}`,
    (path) => ({access: 'pull', expect: [200], method: 'GET', path, repository}),
    (body) => {
      const page = (JSON.parse(body.toString('utf8')) as {tags?: null | unknown[]}).tags ?? []
      // Tags go into request paths: a tag list entry with '/' or '..' is refused, never requested.
      return page.map((tag) => assertTag(tag, `tag list of ${repository} (${t.baseUrl})`))
    },
  )
  return [...new Set(out)].sort()
}
