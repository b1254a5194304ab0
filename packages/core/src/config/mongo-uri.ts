import {createRequire} from 'node:module'

/**
 * Why the driver would refuse `uri`, or null when it parses. The driver's own parser decides (constructing a
 * MongoClient parses the URI and its options without connecting), loaded only when a URI is configured so
 * `drc --help` stays fast. The message never contains the URI, its password or its user name.
 */
export function mongoUriProblem(uri: string): null | string {
  const require = createRequire(import.meta.url)
  const {MongoClient} = require('mongodb') as typeof import('mongodb')
  try {
    // Constructed to parse only: it opens no connection, so there is nothing to close.
    // eslint-disable-next-line no-new
    new MongoClient(uri)
    return null
  } catch (error) {
    return scrub(error instanceof Error ? error.message : String(error), uri)
  }
}

function scrub(message: string, uri: string): string {
  const userInfo = /^[a-z+]+:\/\/([^@/]*)@/i.exec(uri)?.[1]
  const secrets = [uri, userInfo, ...(userInfo?.split(':') ?? [])].filter((s): s is string =>
    Boolean(s && s.length > 2),
  )
  let out = message
  for (const s of secrets.sort((a, b) => b.length - a.length)) out = out.replaceAll(s, '***')
  return out
}
