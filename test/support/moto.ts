/* eslint-disable n/no-unsupported-features/node-builtins -- global fetch is available (unflagged) on Node 20, our floor */
/** S3 and the ECR API through moto_server on a free port; credentials test/test, path-style addressing. */
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {motoCommand} from './install.js'
import {freePort} from './ports.js'
import {httpAnswers, spawnService, waitUntil} from './proc.js'

export interface MotoHandle {
  accessKeyId: string
  endpoint: string
  kind: 'external' | 'moto'
  region: string
  secretAccessKey: string
  stop(): Promise<void>
}

export async function startMoto(): Promise<MotoHandle> {
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

  const workDir = mkdtempSync(path.join(os.tmpdir(), 'drc-moto-'))
  const port = await freePort()
  const {args, command} = motoCommand()
  const proc = spawnService(command, [...args, '-H', '127.0.0.1', '-p', String(port)], {
    env: {...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', PYTHONUNBUFFERED: '1'},
    logPath: path.join(workDir, 'moto.log'),
  })
  const endpoint = `http://127.0.0.1:${port}`
  await waitUntil(`moto_server on ${endpoint}`, () => httpAnswers(`${endpoint}/moto-api/`), {
    intervalMs: 100,
    logPath: proc.logPath,
    process: proc,
    timeoutMs: 30_000,
  })
  return {
    ...credentials,
    endpoint,
    kind: 'moto',
    async stop() {
      await proc.stop(5000)
      rmSync(workDir, {force: true, recursive: true})
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
