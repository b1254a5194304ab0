import type {S3Client} from '@aws-sdk/client-s3'

import https from 'node:https'
import tls from 'node:tls'

import type {DrcConfig} from '../config/types.js'

import {readCaFile} from '../config/tls.js'

/**
 * The S3 client factory. Credentials come from the AWS SDK's default chain (AWS_ACCESS_KEY_ID/SECRET,
 * profile, IRSA, instance role). With s3.endpoint (an S3-compatible store such as MinIO or moto)
 * path-style addressing is used, because such stores rarely resolve `<bucket>.<host>` names.
 */
export async function createS3Client(
  config: {s3: Omit<DrcConfig['s3'], 'ca_file'> & Partial<Pick<DrcConfig['s3'], 'ca_file'>>},
  opts: {env?: NodeJS.ProcessEnv} = {},
): Promise<S3Client> {
  // The SDK warns on every run that its 2027 releases will need Node 22; drc pins its version, so the
  // warning only clutters operator output. An operator's own setting wins.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  const {S3Client} = await import('@aws-sdk/client-s3')
  const {endpoint, region} = config.s3
  // Static keys from an environment other than the process's (the health service's injected env); otherwise
  // the SDK's default chain, which also covers profiles, IRSA and instance roles.
  const env = opts.env ?? process.env
  const credentials =
    env !== process.env && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? {
          accessKeyId: env.AWS_ACCESS_KEY_ID,
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
          sessionToken: env.AWS_SESSION_TOKEN,
        }
      : undefined
  // A private CA for the endpoint: added to Node's system CAs, for S3 only (the SDK takes an https.Agent).
  const ca = config.s3.ca_file ? readCaFile(config.s3.ca_file, 's3.ca_file') : undefined
  const requestHandler = ca
    ? {httpsAgent: new https.Agent({ca: [...tls.rootCertificates, ca], keepAlive: true})}
    : undefined
  return new S3Client({
    ...(credentials ? {credentials} : {}),
    ...(requestHandler ? {requestHandler} : {}),
    region,
    ...(endpoint ? {endpoint, forcePathStyle: true} : {}),
    // The SDK's default of 3 attempts with backoff hides a dead endpoint for seconds; callers retry themselves.
    maxAttempts: 2,
  })
}
