/** MongoDB for tests: FerretDB 1.24 (real MongoDB wire protocol) with its SQLite backend in a temp dir. */
import {mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

import {ferretdbBinary} from './install.js'
import {portOrFree} from './ports.js'
import {spawnService, waitUntil} from './proc.js'

export interface MongoHandle {
  /** Which server answers: 'ferretdb' (started here) or 'external' (DRC_TEST_MONGODB_URI). */
  kind: 'external' | 'ferretdb'
  stop(): Promise<void>
  uri: string
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

export interface MongoOptions {
  /** Keep FerretDB's state (SQLite files, log) here across restarts (default: a temp dir removed on stop). */
  dir?: string
  /** Listen on this port when it is free. */
  port?: number
}

export async function startFerretdb(options: MongoOptions = {}): Promise<MongoHandle> {
  const workDir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'drc-ferretdb-'))
  const dataDir = path.join(workDir, 'data')
  mkdirSync(dataDir, {recursive: true})
  const port = await portOrFree(options.port)
  const proc = spawnService(
    ferretdbBinary(),
    [
      '--handler=sqlite',
      `--sqlite-url=file:${dataDir}/`,
      `--listen-addr=127.0.0.1:${port}`,
      '--telemetry=disable',
      '--debug-addr=-',
      `--state-dir=${workDir}`,
      '--log-level=warn',
    ],
    {logPath: path.join(workDir, 'ferretdb.log')},
  )
  await waitUntil(`FerretDB on 127.0.0.1:${port}`, () => tcpOpen(port), {
    logPath: proc.logPath,
    process: proc,
    timeoutMs: 20_000,
  })
  return {
    kind: 'ferretdb',
    async stop() {
      await proc.stop(5000)
      if (!options.dir) rmSync(workDir, {force: true, recursive: true})
    },
    uri: `mongodb://127.0.0.1:${port}/`,
  }
}

/** Honours DRC_TEST_MONGODB_URI (a real external server) before starting FerretDB. */
export async function startMongo(options: MongoOptions = {}): Promise<MongoHandle> {
  const external = process.env.DRC_TEST_MONGODB_URI
  if (external) return {kind: 'external', async stop() {}, uri: external}
  return startFerretdb(options)
}
