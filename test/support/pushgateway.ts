/** A real Prometheus Pushgateway on 127.0.0.1 (built by install.ts from the Go module proxy), no persistence. */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {ensurePushgateway, pushgatewayBinary} from './install.js'
import {freePort} from './ports.js'
import {httpAnswers, spawnService, waitUntil} from './proc.js'

export interface PushgatewayService {
  stop(): Promise<void>
  url: string
}

export async function startPushgateway(): Promise<PushgatewayService> {
  await ensurePushgateway((line) => console.log(`[install] ${line}`))
  const port = await freePort()
  const dir = mkdtempSync(path.join(tmpdir(), 'drc-pushgateway-'))
  const logPath = path.join(dir, 'pushgateway.log')
  const proc = spawnService(pushgatewayBinary(), [`--web.listen-address=127.0.0.1:${port}`], {logPath})
  const url = `http://127.0.0.1:${port}`
  await waitUntil('pushgateway', () => httpAnswers(`${url}/-/ready`, (s) => s === 200), {
    logPath,
    process: proc,
    timeoutMs: 20_000,
  })
  return {
    async stop() {
      await proc.stop()
      rmSync(dir, {force: true, recursive: true})
    },
    url,
  }
}
