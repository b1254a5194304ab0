/**
 * undici's Agent and `request` without undici's index, which loads fetch, WebSocket, EventSource, cookies, caches
 * and mocks (about 110 modules, ~35 ms of every drc process that talks to a registry) that drc never uses. The
 * module paths are those of the pinned undici (packages/core/package.json); if an upgrade moves them, every
 * registry test fails at import.
 */
import type {Dispatcher, Agent as UndiciAgent} from 'undici'

import {createRequire} from 'node:module'

const load = createRequire(import.meta.url)

export const Agent = load('undici/lib/dispatcher/agent.js') as typeof UndiciAgent
export type Agent = UndiciAgent

type DispatchRequest = (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>
const dispatchRequest = load('undici/lib/api/api-request.js') as DispatchRequest

export type RequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path'> & {dispatcher: Dispatcher}

/** undici's `request(url, options)`: origin and path taken from the URL, sent through `options.dispatcher`. */
export function request(url: string | URL, options: RequestOptions): Promise<Dispatcher.ResponseData> {
  const {origin, pathname, search} = new URL(url)
  return dispatchRequest.call(options.dispatcher, {...options, origin, path: pathname + search})
}
