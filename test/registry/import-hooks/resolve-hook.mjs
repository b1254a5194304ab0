// Module-loader hook thread of record.mjs: appends each resolved ESM URL as it is resolved (so a process that
// exits early still leaves its list).
import {appendFileSync} from 'node:fs'

let file = ''

export function initialize(data) {
  file = data.file
}

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context)
  appendFileSync(file, `${resolved.url}\n`)
  return resolved
}
