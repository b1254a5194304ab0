/* eslint-disable n/no-unsupported-features/node-builtins -- global fetch is available (unflagged) on Node 20, our floor */
/** S3 and the ECR API through moto_server on a free port; credentials test/test, path-style addressing. */
import {existsSync, mkdirSync, mkdtempSync, rmSync, statSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {motoCommand} from './install.js'
import {portOrFree} from './ports.js'
import {httpAnswers, spawnService, waitUntil} from './proc.js'

export interface MotoHandle {
  accessKeyId: string
  endpoint: string
  kind: 'external' | 'moto'
  region: string
  secretAccessKey: string
  stop(): Promise<void>
}

export interface MotoOptions {
  /**
   * Keep S3 across restarts: moto 5 holds its state in memory, so its request recorder appends every request to
   * `<dir>/recording.jsonl` and a start replays that file before serving (the readiness probes are not recorded).
   */
  dir?: string
  /** Listen on this port when it is free. */
  port?: number
}

async function motoApi(endpoint: string, action: string): Promise<void> {
  const response = await fetch(`${endpoint}/moto-api/recorder/${action}`, {method: 'POST'})
  await response.arrayBuffer()
  if (!response.ok) throw new Error(`moto ${action} at ${endpoint} failed: HTTP ${response.status}`)
}

export async function startMoto(options: MotoOptions = {}): Promise<MotoHandle> {
  const credentials = {accessKeyId: 'test', region: 'us-east-1', secretAccessKey: 'test'}
  if (process.env.DRC_TEST_S3_ENDPOINT) {
    return {
      ...credentials,
      accessKeyId: process.env.DRC_TEST_S3_ACCESS_KEY_ID ?? 'test',
      endpoint: process.env.DRC_TEST_S3_ENDPOINT,
      kind: 'external',
      region: process.env.DRC_TEST_S3_REGION ?? credentials.region,
      secretAccessKey: process.env.DRC_TEST_S3_SECRET_ACCESS_KEY ?? 'test',
      async stop() {},
    }
  }

  const workDir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'drc-moto-'))
  mkdirSync(workDir, {recursive: true})
  const recording = path.join(workDir, 'recording.jsonl')
  const port = await portOrFree(options.port)
  const {args, command} = motoCommand()
  const proc = spawnService(command, [...args, '-H', '127.0.0.1', '-p', String(port)], {
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      ...(options.dir ? {MOTO_RECORDER_FILEPATH: recording} : {}),
      PYTHONUNBUFFERED: '1',
    },
    logPath: path.join(workDir, 'moto.log'),
  })
  const endpoint = `http://127.0.0.1:${port}`
  await waitUntil(`moto_server on ${endpoint}`, () => httpAnswers(`${endpoint}/moto-api/`), {
    intervalMs: 100,
    logPath: proc.logPath,
    process: proc,
    timeoutMs: 30_000,
  })
  if (options.dir) {
    if (existsSync(recording) && statSync(recording).size > 0) await motoApi(endpoint, 'replay-recording')
    await motoApi(endpoint, 'start-recording')
  }

  return {
    ...credentials,
    endpoint,
    kind: 'moto',
    async stop() {
      await proc.stop(5000)
      if (!options.dir) rmSync(workDir, {force: true, recursive: true})
    },
  }
}

/** Creates a bucket with a plain REST call (moto ignores signatures), so test support needs no AWS SDK. */
export async function createBucket(endpoint: string, bucket: string): Promise<void> {
  const response = await fetch(`${endpoint}/${bucket}`, {
    headers: {authorization: 'AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/s3/aws4_request'},
    method: 'PUT',
  })
  const body = await response.text()
  if (!response.ok && !body.includes('BucketAlreadyOwnedByYou')) {
    throw new Error(`creating bucket ${bucket} at ${endpoint} failed: HTTP ${response.status} ${body.slice(0, 300)}`)
  }
}
